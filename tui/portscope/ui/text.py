"""Sentences for the screen with text from the system in them, built as text, never markup.

Textual reads a `str` handed to `notify`, `Static` or a border title as markup, so a
process named `x[/]y`, or a config path holding it, raised MarkupError and ended the
dashboard. Our wording is a template; what the system said (names, paths, errors) is
filled in made printable, and the result is `Content`, which Textual never parses.
"""

from __future__ import annotations

from textual.content import Content

from portscope.sanitise import printable


def text(template: str, /, **parts: object) -> Content:
    """`template` (ours, with `{name}` fields) with each part filled in as printable text."""
    return Content(template.format(**{name: printable(str(v)) for name, v in parts.items()}))


def toast_text(message: str | Content) -> str:
    """What a notification shows: the plain text of `message`, control characters escaped
    (a `str` may come from Textual itself or from a layer below that cannot build Content)."""
    return printable(message.plain if isinstance(message, Content) else message)
