"""The hand-written notes file: `PORT or LOW-HIGH | source | fact`, one a line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from portscope.knowledge.records import Note
from portscope.model import MAX_PORT


@dataclass(frozen=True, slots=True)
class NoteLine:
    low: int
    high: int
    note: Note


class NotesFormatError(ValueError):
    """The bundled notes file has a line that is not `PORT | source | fact`."""


def parse_notes(text: str) -> Iterator[NoteLine]:
    """Every note; a malformed line is an error, since this file ships with portscope."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        ports, source, fact = (part.strip() for part in [*line.split("|", 2), "", ""][:3])
        low_text, _, high_text = ports.partition("-")
        if not (low_text.isdecimal() and (high_text or low_text).isdecimal() and source and fact):
            raise NotesFormatError(f"notes line {number}: expected 'PORT | source | fact'")
        low, high = int(low_text), int(high_text or low_text)
        if not 0 <= low <= high <= MAX_PORT:
            raise NotesFormatError(f"notes line {number}: port out of range")
        yield NoteLine(low=low, high=high, note=Note(text=fact, source=source))
