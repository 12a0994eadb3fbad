"""A table that renders only its visible rows, for tables of tens of thousands of sockets.

The stock DataTable rebuilds too much per change; this view draws each visible line
from the `RowModel` on demand (Line API), keeps a fixed header line, and keeps the
cursor on the same row (by key) and at the same screen offset across updates and
re-sorts. A cursor on the first row stays there as rows arrive, so the view follows the
top; rows that arrive above a view scrolled down are counted (`new_above`). Narrow
terminals drop low-priority columns instead of scrolling sideways.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from portscope.ui.actions import Scope, bindings, first_key
from portscope.ui.narrow import by_priority, fit, fit_marked
from portscope.view.columns import Column, Columns, Row
from portscope.view.table_model import RowModel

NEW_FOR = 4.0
"""Seconds a newly seen row stays highlighted."""
GAP = 1
SORT_MARKS = ("▲", "▼")

Clock = Callable[[], float]


Placed = tuple[int, Column, int]
"""A column as laid out: where its cell is in the row's cells, the column, its width."""


def layout_columns(
    columns: Sequence[Column], width: int, situational: bool = False
) -> list[Placed]:
    """The columns that fit in `width`, in order: highest priority kept first; the
    `situational` ones only when asked for."""
    offered = [i for i, c in enumerate(columns) if situational or not c.situational]
    needs = [(columns[i].priority, columns[i].width) for i in offered]
    chosen = [offered[i] for i in by_priority(needs, width, GAP)]
    used = sum(columns[i].width for i in chosen) + GAP * max(0, len(chosen) - 1)
    growers = [i for i in chosen if columns[i].grow]
    spare = width - used
    widths = {i: columns[i].width for i in chosen}
    for n, index in enumerate(growers):
        share = spare // len(growers) + (1 if n < spare % len(growers) else 0)
        widths[index] += share
    return [(i, columns[i], widths[i]) for i in chosen]


class TableMessage(Message):
    """A message from one table, which is its `control` (so `@on` selectors match it)."""

    def __init__(self, table: SocketTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> SocketTable:
        return self.table


class SocketTable(ScrollView, can_focus=True):
    """Keyboard-driven table over a `RowModel`, one header line plus visible rows."""

    ALLOW_MAXIMIZE = False

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "socket-table--header",
        "socket-table--cursor",
        "socket-table--new",
        "socket-table--gone",
        "socket-table--exposed",
        "socket-table--session",
        "socket-table--empty",
        "socket-table--warning",
        "socket-table--critical",
    }

    DEFAULT_CSS = """
    SocketTable { height: 1fr; scrollbar-size-horizontal: 0; }
    SocketTable > .socket-table--header { text-style: bold; color: $text-accent; }
    SocketTable > .socket-table--cursor { background: $block-cursor-blurred-background; }
    SocketTable:focus > .socket-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    SocketTable:nocolor > .socket-table--cursor { text-style: reverse; }
    SocketTable:nocolor:focus > .socket-table--cursor { text-style: reverse bold; }
    SocketTable > .socket-table--new { background: $success 25%; }
    SocketTable > .socket-table--gone { color: $text-disabled; text-style: dim strike; }
    SocketTable > .socket-table--exposed { color: $text-warning; text-style: bold; }
    SocketTable > .socket-table--session { color: $text-accent; text-style: italic; }
    SocketTable > .socket-table--empty { color: $text-muted; text-style: italic; }
    SocketTable > .socket-table--warning { color: $text-warning; }
    SocketTable > .socket-table--critical { color: $text-error; text-style: bold; }
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.TABLE)

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Selected(TableMessage):
        """Enter (or a second click) on a row."""

        def __init__(self, table: SocketTable, row: Row) -> None:
            super().__init__(table)
            self.row = row

    class NewAbove(TableMessage):
        """The count of rows that arrived above the view (`new_above`) changed."""

    class SortChanged(TableMessage):
        """The user sorted by another column or reversed the order."""

    def __init__(
        self,
        columns: Columns,
        *,
        sort_column: str | None = None,
        reverse: bool = False,
        clock: Clock = time.time,
        empty_text: str = "nothing here",
        selectable: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = columns
        self.model = RowModel(columns, sort_column=sort_column, reverse=reverse)
        self.clock = clock
        self.empty_text = empty_text
        self.selectable = selectable
        self._cursor_key: Hashable | None = None
        self.situational = False
        self._layout: list[Placed] = []
        self._layout_width = -1
        self._painted: dict[int, object] = {}
        self._pass: _Pass | None = None
        self._above: set[Hashable] = set()

    @property
    def cursor_row(self) -> Row | None:
        if not len(self.model):
            return None
        return self.model.row_at(min(self.cursor, len(self.model) - 1))

    @property
    def visible_columns(self) -> tuple[str, ...]:
        """The ids of the columns drawn at the table's width (narrow tables drop some)."""
        layout = self._columns_for(self.scrollable_content_region.width)
        return tuple(column.id for _index, column, _width in layout)

    @property
    def page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    @property
    def new_above(self) -> int:
        """Rows that arrived above the first one on screen and have not been in view
        since: what the view, kept on the cursor's row, does not show."""
        return len(self._above)

    def update_rows(self, upserts: Iterable[Row] = (), removals: Iterable[Hashable] = ()) -> None:
        """Apply a change to the rows, keeping the cursor row where it is on screen
        (or on the first row, when it was there)."""
        upserts = list(upserts)
        removals = list(removals)
        if not upserts and not removals:
            return
        held = self.model.rows
        arrived = [
            row.key
            for row in upserts
            if (was := held.get(row.key)) is None or was.first_seen != row.first_seen
        ]
        with self._cursor_kept(repaint_all=False, follow_top=True, arrived=arrived):
            self.model.apply(upserts, removals)

    def replace_rows(self, rows: Iterable[Row]) -> None:
        with self._cursor_kept(follow_top=True):
            self.model.replace_all(rows)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by the column `column` (an id); with reverse None, a second sort by the
        same column reverses."""
        if reverse is None:
            reverse = not self.model.reverse if column == self.model.sort_column else False
        with self._cursor_kept():
            self.model.sort_by(column, reverse)
        self.post_message(self.SortChanged(self))

    def set_filter(self, text: str) -> None:
        """Filter rows by the expression `text`; raises FilterSyntaxError and leaves the
        rows as they were. The filter grammar (and re2 under it) is imported on the first
        filter, not with the UI: the first frame does not need it."""
        from portscope.view.filters import row_matcher

        matcher = row_matcher(text)
        with self._cursor_kept():
            self.model.set_matcher(matcher)

    def refresh_rows(self) -> None:
        """Repaint the lines that would now show something else than when they were
        painted: the clock alone moves ages, highlights and fades, and a poll's rows
        often change a few lines of a screenful, or none."""
        now = self.clock()
        width = self.scrollable_content_region.width
        for y in range(1, self.page_height + 1):
            if self._painted.get(y) != self._line_signature(y, now):
                self.refresh(Region(0, y, width, 1))

    def _line_signature(self, y: int, now: float) -> object:
        """Everything line `y` (below the header) shows, to tell whether it changed."""
        model = self.model
        index = int(self.scroll_y) + y - 1
        if index >= len(model):
            return (model.filtered, model.total) if y == 1 and not len(model) else None
        row = model.row_at(index)
        return (
            row.cells,
            row.tag,
            row.gone_at is not None,
            row.new and now - row.first_seen < NEW_FOR,
            index == self.cursor,
            tuple(column.live(row, now) for _i, column, _w in self._layout if column.live),
        )

    def _cursor_kept(
        self, repaint_all: bool = True, follow_top: bool = False, arrived: Iterable[Hashable] = ()
    ) -> _CursorKeeper:
        return _CursorKeeper(self, repaint_all, follow_top, arrived)

    def _set_virtual_height(self, lines: int) -> None:
        """Resize the scrollable area; a full layout only when the scrollbar comes or goes.

        Assigning `virtual_size` re-lays out the whole screen, a large part of the CPU
        budget at one poll a second with churn (BENCHMARKS.md, "Behind the code"); a
        size change that keeps the scrollbar as it is only needs the scroll limits and
        scrollbar updated.
        """
        new = Size(self.scrollable_content_region.width, lines)
        old = self.virtual_size
        if new == old:
            return
        window = self.container_size.height
        if new.width != old.width or (new.height > window) != (old.height > window):
            self.virtual_size = new
            return
        self.set_reactive(Widget.virtual_size, new)
        self._scroll_update(new)

    def _restore_cursor(self, kept: _CursorKeeper) -> None:
        """Put the cursor back on its row, at its line on screen, after a change.

        Following the top (a change in the data, not a re-sort), a cursor on the first
        row stays on the first row, whichever it is now, and a view at the top stays
        there as long as the cursor's row is still on it.
        """
        count = len(self.model)
        self._set_virtual_height(count + 1)
        at_top = kept.follow_top and kept.top == 0
        index = None
        if kept.key is not None and not (at_top and kept.index == 0):
            index = self.model.index_of(kept.key)
        if index is None:
            index = min(kept.index, max(0, count - 1))
        self.set_reactive(SocketTable.cursor, index)
        self._cursor_key = self.model.row_at(index).key if count else None
        top = index - (self.page_height - 1 if at_top else max(0, kept.offset))
        self.scroll_to(y=max(0, top), animate=False, immediate=True, force=True)
        self._count_above(kept.arrived)
        if kept.repaint_all:
            self.refresh()
        else:
            self.refresh_rows()

    def _count_above(self, arrived: Iterable[Hashable] = ()) -> None:
        """Add the rows that just `arrived` above the view to those counted there, and
        stop counting the ones gone or back in view (or below it)."""
        top = int(self.scroll_y)
        if not top and not self._above:
            return
        index_of = self.model.index_of
        before = len(self._above)
        candidates = self._above.union(arrived)
        self._above = {k for k in candidates if (i := index_of(k)) is not None and i < top}
        if len(self._above) != before:
            self.post_message(self.NewAbove(self))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._above and new_value < old_value:
            self._count_above()

    def watch_cursor(self, old: int, new: int) -> None:
        count = len(self.model)
        if not count:
            self._cursor_key = None
            return
        clamped = max(0, min(new, count - 1))
        if clamped != new:
            self.cursor = clamped
            return
        self._cursor_key = self.model.row_at(clamped).key
        top = int(self.scroll_y)
        if clamped < top:
            self.scroll_to(y=clamped, animate=False, immediate=True)
        elif clamped >= top + self.page_height:
            self.scroll_to(y=clamped - self.page_height + 1, animate=False, immediate=True)
        self.refresh()

    def action_cursor(self, step: int) -> None:
        self.cursor = self.cursor + step

    def action_page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * self.page_height

    def action_jump(self, where: int) -> None:
        self.cursor = where if where >= 0 else len(self.model) - 1

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select":
            return self.selectable
        return True

    def action_select(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.Selected(self, row))

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.model) + 1)

    def _columns_for(self, width: int) -> list[Placed]:
        """Column layout for `width`; recomputed when a scrollbar comes or goes."""
        if width != self._layout_width:
            self._layout = layout_columns(self.columns.all, width, self.situational)
            self._layout_width = width
        return self._layout

    def show_situational(self, wanted: bool) -> None:
        """Lay out the situational columns (`Column.situational`) or leave them out."""
        if wanted != self.situational:
            self.situational = wanted
            self._layout_width = -1
            self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x)
            if column is not None:
                self.sort_by(column)
            return
        index = int(self.scroll_y) + offset.y - 1
        if index < len(self.model):
            if index == self.cursor and event.chain > 1:
                self.action_select()
            self.cursor = index

    def _column_at(self, x: int) -> str | None:
        left = 0
        for _index, column, width in self._layout:
            if left <= x < left + width + GAP:
                return column.id
            left += width + GAP
        return None

    def render_lines(self, crop: Region) -> list[Strip]:
        """One pass over the lines to repaint: the width, the clock and the styles are
        looked up once for all of them (walking the DOM for every line's style was a
        third of a frame)."""
        self._pass = _Pass(self.scrollable_content_region.width, self.clock(), self)
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def render_line(self, y: int) -> Strip:
        paint = self._pass or _Pass(self.scrollable_content_region.width, self.clock(), self)
        width = paint.width
        self._columns_for(width)
        if y == 0:
            return self._header_strip(width, paint.style("header"))
        self._painted[y] = self._line_signature(y, paint.now)
        index = int(self.scroll_y) + y - 1
        count = len(self.model)
        if index >= count:
            if count == 0 and y == 1:
                text = self.empty_text
                if self.model.filtered and self.model.total:
                    text = self._nothing_matches(self.model.total)
                return Strip([Segment(fit(text, width), paint.style("empty"))], width)
            return Strip.blank(width, paint.style(""))
        row = self.model.row_at(index)
        return Strip(
            [Segment(self._line_text(row, width, paint.now), self._row_style(row, index, paint))],
            width,
        )

    def _nothing_matches(self, hidden: int) -> str:
        """What an empty filtered table says, naming the keys that clear its filter as
        the keymap has them."""
        keys = (first_key(self, f"portscope.{name}") for name in ("filter", "filter.clear"))
        return f"no row matches the filter ({hidden:,} hidden); {' then '.join(keys)} clears it"

    def _header_strip(self, width: int, style: Style) -> Strip:
        mark = SORT_MARKS[1 if self.model.reverse else 0]
        parts = []
        for _index, column, col_width in self._layout:
            title = column.title + (mark if column.id == self.model.sort_column else "")
            parts.append(fit(title, col_width, column.align))
        return Strip([Segment(fit((" " * GAP).join(parts), width), style)], width)

    def _line_text(self, row: Row, width: int, now: float) -> str:
        parts = []
        cells, marks = row.cells, row.marks
        for index, column, col_width in self._layout:
            if column.live is not None:
                parts.append(fit(column.live(row, now), col_width, column.align))
            elif marks and column.id in marks:
                forms = marks[column.id]
                parts.append(fit_marked(cells[index], forms, col_width, column.align))
            else:
                parts.append(fit(cells[index], col_width, column.align))
        return fit((" " * GAP).join(parts), width)

    def _row_style(self, row: Row, index: int, paint: _Pass) -> Style:
        parts = [row.tag] if row.tag else []
        if row.gone_at is not None:
            parts.append("gone")
        elif row.new and paint.now - row.first_seen < NEW_FOR:
            parts.append("new")
        if index == self.cursor:
            parts.append("cursor")
        return paint.combined(tuple(parts))


class _Pass:
    """What every line of one repaint shares: width, time, and the styles, each looked
    up (and each combination of them added up) once."""

    def __init__(self, width: int, now: float, table: SocketTable) -> None:
        self.width = width
        self.now = now
        self.table = table
        self._styles: dict[str, Style] = {}
        self._combined: dict[tuple[str, ...], Style] = {}

    def style(self, part: str) -> Style:
        """The table's own style (""), or its own plus one component's."""
        style = self._styles.get(part)
        if style is None:
            table = self.table
            style = table.rich_style
            if part:
                style += table.get_component_rich_style(f"socket-table--{part}")
            self._styles[part] = style
        return style

    def combined(self, parts: tuple[str, ...]) -> Style:
        """The table's style plus each named component's, in order."""
        style = self._combined.get(parts)
        if style is None:
            style = self.style("")
            for part in parts:
                style += self.table.get_component_rich_style(f"socket-table--{part}")
            self._combined[parts] = style
        return style


class _CursorKeeper:
    """Context: remember the cursor row and its screen offset, restore them after a
    change (`SocketTable._restore_cursor`); `arrived`: keys of rows the change brings."""

    def __init__(
        self,
        table: SocketTable,
        repaint_all: bool,
        follow_top: bool,
        arrived: Iterable[Hashable],
    ) -> None:
        self.table = table
        self.repaint_all = repaint_all
        self.follow_top = follow_top
        self.arrived = arrived

    def __enter__(self) -> None:
        table = self.table
        self.key = table._cursor_key
        self.index = table.cursor
        self.top = int(table.scroll_y)
        self.offset = self.index - self.top

    def __exit__(self, *exc: object) -> None:
        self.table._restore_cursor(self)
