"""Make text that came from the system (process names, cmdlines) inert before it is shown.

Anything a hostile process controls could carry terminal escapes, bidi overrides or
spreadsheet formulas; these helpers are the one place that neutralises them.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str | None, limit: int | None = None) -> str:
    """Control, format and bidi characters shown as escapes; then cut to `limit` characters
    (escapes included, so the result is never wider than `limit`)."""
    if not text:
        return ""
    if _UNSAFE.search(text) is not None or not text.isprintable():
        cleaned = _UNSAFE.sub(_escape, text)
        text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in cleaned)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not evaluate as a formula."""
    text = "" if value is None else printable(str(value))
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
