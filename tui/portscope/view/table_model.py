"""The sorted, filtered row model behind every socket table.

Rows are keyed (by `Socket.key` for socket panes) and kept in one sorted list of
`(sort value, serial, key)` entries, so a poll's delta is applied with a bisect per row
instead of a rebuild: 1,000 additions and 1,000 removals on 20,000 rows stay a small
part of a frame (BENCHMARKS.md, "Behind the code"). Reversed order is an index mapping,
not a second list. Nothing here imports textual, so the model can be tested and
benchmarked on its own.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING

from portscope.view.columns import Columns, Row, SortValue

if TYPE_CHECKING:
    import re2

REBUILD_FRACTION = 4
"""A change touching more than 1/REBUILD_FRACTION of the rows is applied by one sort."""
BATCH = 32
"""More entries than this are merged into the order in one pass, not bisected one by one."""

Matcher = Callable[[Row], bool]


class FilterError(ValueError):
    """A filter the user typed that cannot be used (a bad regular expression)."""


def compile_regex(pattern: str) -> re2._Regexp:
    """A case-insensitive RE2 pattern for a row's cells, one per line: linear-time
    matching, so no pattern a user types (`(a+)+$` and friends) can freeze the table.

    `^` and `$` mean the start and end of a cell (multi-line mode), and nothing in the
    pattern matches a newline (`never_nl`), so no match spans two cells: `8080$` finds
    the port 8080 as it would in that cell alone, searched one cell at a time but in a
    tenth of the time. RE2 has no backreferences or lookaround; those are reported as
    errors like any other bad pattern. RE2 is imported here, on the first pattern: a
    table without a filter (the first frame's) does not need it."""
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.never_nl = True
    options.log_errors = False  # RE2 would write to fd 2, straight onto the screen
    try:
        re2.compile(pattern, options)  # so an error quotes what the user typed
        return re2.compile(f"(?m){pattern}", options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise FilterError(f"bad regular expression: {reason}") from None


Entry = tuple[SortValue, int, Hashable]


class RowModel:
    """Rows by key, plus the sorted list of the ones the filter lets through.

    Sorted by one column (an id) at a time: each row's value in it is read from the
    row's subject when the row is placed, so rows carry no sort values of their own.
    """

    def __init__(
        self, columns: Columns, sort_column: str | None = None, reverse: bool = False
    ) -> None:
        self.rows: dict[Hashable, Row] = {}
        self.columns = columns
        self.sort_column = columns.ids[0] if sort_column is None else sort_column
        self._sort_key = columns[self.sort_column].sort_key
        self.reverse = reverse
        self._matcher: Matcher | None = None
        self._order: list[Entry] = []
        self._entries: dict[Hashable, Entry] = {}
        self._serials: dict[Hashable, int] = {}
        self._next_serial = 0

    def __len__(self) -> int:
        return len(self._order)

    @property
    def total(self) -> int:
        """Rows held, whether or not the filter shows them."""
        return len(self.rows)

    @property
    def filtered(self) -> bool:
        return self._matcher is not None

    def row_at(self, index: int) -> Row:
        if self.reverse:
            index = len(self._order) - 1 - index
        return self.rows[self._order[index][2]]

    def shows(self, key: Hashable) -> bool:
        """Whether the row with `key` is held and the filter lets it through."""
        return key in self._entries

    def index_of(self, key: Hashable) -> int | None:
        """Where the row with `key` is shown, or None when absent or filtered out."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        index = bisect.bisect_left(self._order, entry)
        return len(self._order) - 1 - index if self.reverse else index

    def apply(self, upserts: Iterable[Row] = (), removals: Iterable[Hashable] = ()) -> None:
        """Add or replace rows and drop keys; incremental unless the change is large."""
        upserts = list({row.key: row for row in upserts}.values())
        removals = [k for k in removals if k in self.rows]
        if (len(upserts) + len(removals)) * REBUILD_FRACTION > max(len(self.rows), 64):
            for key in removals:
                self._forget(key)
            for row in upserts:
                self._remember(row)
            self._rebuild()
            return
        self._unplace([*removals, *(row.key for row in upserts if row.key in self.rows)])
        for key in removals:
            self._forget(key)
        for row in upserts:
            self._remember(row)
        self._place(upserts)

    def replace_all(self, rows: Iterable[Row]) -> None:
        self.rows.clear()
        self._serials.clear()
        for row in rows:
            self._remember(row)
        self._rebuild()

    def sort_by(self, column: str, reverse: bool = False) -> None:
        """Sort by the column `column` (an id); KeyError for one this table lacks."""
        sort_key = self.columns[column].sort_key
        changed_column = column != self.sort_column
        self.sort_column = column
        self._sort_key = sort_key
        self.reverse = reverse
        if changed_column:
            self._rebuild()

    def set_matcher(self, matcher: Matcher | None) -> None:
        """Show only the rows `matcher` lets through (every row for None). The matcher
        comes ready-made (`filters.row_matcher`), so a filter that cannot be compiled
        never reaches the model and the last valid one stays."""
        self._matcher = matcher
        self._rebuild()

    def _remember(self, row: Row) -> None:
        if row.key not in self._serials:
            self._serials[row.key] = self._next_serial
            self._next_serial += 1
        self.rows[row.key] = row

    def _forget(self, key: Hashable) -> None:
        del self.rows[key]
        del self._serials[key]

    def _entry(self, row: Row) -> Entry:
        return (self._sort_key(row.subject), self._serials[row.key], row.key)

    def _place(self, rows: list[Row]) -> None:
        """Insert rows into the order: one bisect each when few, else one merge.

        Each insort moves the list's tail, so a thousand of them into 20,000 rows cost
        several times one sort of the sorted list with the new entries appended, which
        merges them (BENCHMARKS.md, "Behind the code").
        """
        matcher = self._matcher
        entries = []
        for row in rows:
            if matcher is not None and not matcher(row):
                continue
            entry = self._entry(row)
            self._entries[row.key] = entry
            entries.append(entry)
        if len(entries) <= BATCH:
            for entry in entries:
                bisect.insort(self._order, entry)
            return
        self._order += entries
        self._order.sort()

    def _unplace(self, keys: list[Hashable]) -> None:
        """Take keys out of the order: one bisect each when few, else one pass."""
        entries = [e for e in (self._entries.pop(k, None) for k in set(keys)) if e is not None]
        if len(entries) <= BATCH:
            for entry in entries:
                del self._order[bisect.bisect_left(self._order, entry)]
            return
        dead = {entry[2] for entry in entries}
        self._order = [entry for entry in self._order if entry[2] not in dead]

    def _rebuild(self) -> None:
        matcher = self._matcher
        rows = self.rows.values()
        shown = rows if matcher is None else (r for r in rows if matcher(r))
        self._entries = {row.key: self._entry(row) for row in shown}
        self._order = sorted(self._entries.values())
