"""A table's columns as data, and the rows they make.

A column is one object: its id, its title, how it takes width, how its cell is
worded and how it sorts, both read from the row's subject (a socket's facts, a
pressured destination). `Columns` puts a table's columns in order and makes a
subject's `Row`; everything else (sorting, markers, the pane's default sort, tests)
names columns by id, never by position. A row holds its subject, not its text: the
cells are worded on first use (most of 20,000 rows are never on screen nor filtered)
and a row's sort value is read when it is placed, for the one column sorted by, so a
column more costs nothing until it is shown (BENCHMARKS.md, "Behind the code"). No
textual here.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

SortValue = int | str | bytes
Align = Literal["left", "right"]
S = TypeVar("S")
CELL_SEPARATOR = "\n"


def blank(_subject: object) -> str:
    """The cell of a column with nothing to say until it is painted (`Column.live`)."""
    return ""


@dataclass(frozen=True, slots=True)
class Column(Generic[S]):
    """One column: header, width rule, and what its cell says and sorts by.

    `width` is what it needs; `priority` decides which columns stay when the table
    is narrow (higher stays); `grow` columns share whatever width is left over.
    `cell` words the subject (printable text); `sort` orders by it, by the cell's
    text when None. `live` is drawn at paint time from the row and the clock (an
    age), in place of the cell, so the clock moves it without rebuilding the row.
    `situational`: laid out only while its table says the situation calls for it (the
    netns column, while sockets of more than one namespace are listed).
    """

    id: str
    title: str
    width: int
    priority: int = 0
    grow: bool = False
    align: Align = "left"
    cell: Callable[[S], str] = blank
    sort: Callable[[S], SortValue] | None = None
    live: Callable[[Row, float], str] | None = None
    situational: bool = False

    @property
    def sort_key(self) -> Callable[[S], SortValue]:
        return self.cell if self.sort is None else self.sort


class Columns(Generic[S]):
    """A table's columns in order, found by id; `row` makes a subject's row."""

    __slots__ = ("_cells", "_index", "all", "ids")

    def __init__(self, *columns: Column[S]) -> None:
        self.all = columns
        self.ids = tuple(c.id for c in columns)
        self._index = {c.id: i for i, c in enumerate(columns)}
        if len(self._index) != len(columns):
            raise ValueError(f"column ids repeat: {self.ids}")
        self._cells = tuple(c.cell for c in columns)

    def __iter__(self) -> Iterator[Column[S]]:
        return iter(self.all)

    def __len__(self) -> int:
        return len(self.all)

    def __getitem__(self, column: str) -> Column[S]:
        return self.all[self._index[column]]

    def index(self, column: str) -> int:
        """Where the column `column` (an id) stands; KeyError for one this table lacks."""
        return self._index[column]

    def row(
        self,
        key: Hashable,
        subject: S,
        *,
        tag: str = "",
        first_seen: float = 0.0,
        new: bool = False,
        payload: object = None,
        marks: Mapping[str, tuple[str, ...]] | None = None,
        netns: str = "",
        exposure: str = "",
    ) -> Row:
        """The subject's row, its cells still to be worded."""
        return Row(key, subject, self, tag, first_seen, new, None, payload, marks, netns, exposure)

    def cells_of(self, subject: S) -> tuple[str, ...]:
        """Every cell of the subject's row, worded in one pass."""
        return tuple([cell(subject) for cell in self._cells])


@dataclass(slots=True)
class Row:
    """One table row: the subject its cells are worded from, and its lifecycle marks.

    `tag` names an extra style ("exposed", "session"); `first_seen` drives the age
    column and the new-row highlight; `gone_at` is set while a vanished row lingers.
    `lines` (the text a regex filter matches) and `search` (the same casefolded, for a
    plain one) are built on first use: most rows are never filtered, and at 20,000 rows
    building them eagerly was a real part of a full rebuild (BENCHMARKS.md, "Behind the
    code"). Cells are one per line (they never hold a newline: they are printable), so a
    filter matches within a cell, never across two.
    `marks` maps a column id to the marker its cell ends with, in its forms longest
    first (" ◀ your ssh", " ◀ ssh"): a narrow column cuts the text before it, not the
    marker.
    """

    key: Hashable
    subject: object
    columns: Columns
    tag: str = ""
    first_seen: float = 0.0
    new: bool = False
    gone_at: float | None = None
    payload: object = None
    marks: Mapping[str, tuple[str, ...]] | None = None
    netns: str = ""
    """The name of the network namespace of the row's socket ("" for other rows), which
    the filter's `netns` field reads."""
    exposure: str = ""
    """A listener row's exposure kind (`exposure.Exposure`), as its column says it;
    "" for other rows. The filter's `exposure` field reads it."""
    _cells: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _lines: str | None = field(default=None, init=False, repr=False, compare=False)
    _search: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def cells(self) -> tuple[str, ...]:
        """The cells' text in column order, worded from the subject on first use."""
        if self._cells is None:
            self._cells = self.columns.cells_of(self.subject)
        return self._cells

    def reword(self) -> None:
        """Its subject changed in place: its cells (and the text filters match) are
        worded again on next use."""
        self._cells = self._lines = self._search = None

    def cell(self, column: str) -> str:
        """The text of the cell in the column `column` (an id)."""
        return self.cells[self.columns.index(column)]

    def sort_value(self, column: str) -> SortValue:
        """What this row sorts by in the column `column` (an id)."""
        return self.columns[column].sort_key(self.subject)

    @property
    def lines(self) -> str:
        if self._lines is None:
            self._lines = CELL_SEPARATOR.join(self.cells)
        return self._lines

    @property
    def search(self) -> str:
        if self._search is None:
            self._search = CELL_SEPARATOR.join(self.cells).casefold()
        return self._search

    def text(self) -> str:
        """The row as one line of `title=value` pairs, for the clipboard."""
        columns = self.columns
        return "  ".join(f"{c.title}={v}" for c, v in zip(columns, self.cells, strict=True) if v)
