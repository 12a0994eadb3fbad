"""Make text that came from the system (process names, cmdlines, paths) inert before it
is shown.

Anything a hostile process controls could carry terminal escapes, bidi overrides,
spreadsheet formulas, a monitoring format's separators, or bytes that are not UTF-8;
these helpers are the one place that neutralises them. Every escape they write is
plain text: `\\xNN` for a byte that is not UTF-8 and for a control character below
U+0100, `\\uNNNN` for any other character that must not be shown raw.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ud800-\udfff\ufeff"
    "\ufff9-\ufffb]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNDECODED_BYTES = range(0xDC80, 0xDD00)
"""Where os.fsdecode and psutil (errors="surrogateescape", PEP 383) put a byte 0x80-0xff
that is not part of valid UTF-8."""
_PLUGIN_SEPARATORS = re.compile("[|]")
_PERF_LABEL_SEPARATORS = re.compile("[|=']")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code in _UNDECODED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def os_text(text: str) -> str:
    """`text` as Python decoded it from the OS, with each byte that was not UTF-8 written
    as the four characters `\\xNN`: valid Unicode, which every output (JSON included)
    can carry, and which still says which bytes the name held.

    A process name the kernel cut inside a character (its comm is 15 bytes) comes out
    as `my server 名\\xe5\\x89`. Any other lone surrogate is written `\\uNNNN`."""
    return text if text.isascii() else _SURROGATE.sub(_escape, text)


def decoded(data: bytes) -> str:
    """Bytes from the system as text: UTF-8 where they are, `\\xNN` (as `os_text`) where
    they are not."""
    return os_text(data.decode("utf-8", "surrogateescape"))


def printable(text: str | None, limit: int | None = None) -> str:
    """Control, format and bidi characters and undecodable bytes shown as escapes; then
    cut to `limit` characters (escapes included, so the result is never wider than
    `limit`)."""
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


def plugin_text(text: str) -> str:
    """A line of monitoring-plugin output (Nagios, Icinga, Sensu): printable, on one line,
    and without `|`, which would start the perfdata wherever it came."""
    return _PLUGIN_SEPARATORS.sub(_escape, printable(text))


def perf_label(text: str) -> str:
    """A perfdata label: no `|`, `=` or `'` (the plugin guidelines allow neither in a
    label), single-quoted when it holds a space."""
    label = _PERF_LABEL_SEPARATORS.sub(_escape, printable(text))
    return f"'{label}'" if " " in label else label
