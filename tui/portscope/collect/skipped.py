"""What a strict reader of a /proc file passed over, told in one note per file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Skipped:
    """The pieces of one file that were not what the kernel writes: how many, and the
    line number of the first; `unit` names a piece in the note (`line`, `line pair`)."""

    unit: str
    count: int = 0
    first: int | None = None

    def add(self, line_number: int) -> None:
        self.count += 1
        if self.first is None:
            self.first = line_number

    def note(self, path: str) -> str:
        pieces = self.unit if self.count == 1 else f"{self.unit}s"
        return f"{path}: {self.count} malformed {pieces} skipped (first: line {self.first})"
