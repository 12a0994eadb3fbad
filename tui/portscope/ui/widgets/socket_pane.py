"""A bordered pane around one SocketTable, with the `/` filter box every pane shares.

Subclasses say which sockets they hold and how a socket becomes a row; this class
subscribes the pane to the polls shown (`ui.live`) and turns each one's delta into row
changes, so no pane ever polls, and nobody has to feed one by hand.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

from portscope.model import Snapshot, Socket
from portscope.sanitise import printable
from portscope.ui.actions import Scope, bindings
from portscope.ui.live import Live
from portscope.ui.text import text
from portscope.ui.widgets.socket_table import Clock, SocketTable
from portscope.view.columns import Columns, Row
from portscope.view.rows import RowContext
from portscope.view.showing import Relabel, Shown
from portscope.view.table_model import FilterError

MAX_FILTER = 100_000


def spread(snapshot: Snapshot) -> bool:
    """Whether the poll holds sockets of more than one network namespace, so a row
    must say where its socket lives."""
    return sum(ns.sockets > 0 for ns in snapshot.namespaces) > 1


class FilterBox(Input):
    """The `/` filter: Enter keeps it and returns to the table, Esc clears it."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.FILTER)

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        pane = self.parent
        if isinstance(pane, SocketPane):
            pane.table.focus()


class SocketPane(Vertical):
    """Common pane behaviour: title with counts, filter, delta application."""

    ALLOW_MAXIMIZE = True

    TITLE = "sockets"
    COLUMNS: ClassVar[Columns]
    SORT_COLUMN: ClassVar[str]
    """The id of the column the pane is sorted by until the user sorts it otherwise."""
    REVERSE = False
    EMPTY = "nothing here"
    FIRST_FRAME = False
    """Whether the dashboard's first frame waits for this pane's rows; a pane of
    connections, thousands of them on a server, fills in the frame after."""

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.clock = clock
        self.table = SocketTable(
            self.COLUMNS,
            sort_column=self.SORT_COLUMN,
            reverse=self.REVERSE,
            clock=clock,
            empty_text=self.EMPTY,
        )
        self.filter_box = FilterBox(
            placeholder="filter: text, or re:PATTERN — Esc clears", max_length=MAX_FILTER
        )
        self.filter_note = Static("", classes="filter-note")
        self.valid_filter = ""
        self.context: RowContext | None = None
        self.heading = self.TITLE
        self.netns: int | None = None
        """The namespace (inode) the pane is narrowed to; None: every one."""
        self.netns_name = ""
        self._titles: tuple[str, str] = ("", "")

    def compose(self) -> ComposeResult:
        yield self.table
        yield self.filter_box
        yield self.filter_note

    def on_mount(self) -> None:
        self.filter_box.display = False
        self.filter_note.display = False
        self.update_title()
        live = Live.of(self)
        live.on_poll(self, self.show, after_first_frame=not self.FIRST_FRAME)
        live.on_relabel(self, self.relabel)

    def wants(self, sock: Socket, snapshot: Snapshot) -> bool:
        raise NotImplementedError

    def keeps(self, sock: Socket, snapshot: Snapshot) -> bool:
        """`wants`, within the namespace the pane is narrowed to."""
        return (self.netns is None or sock.netns == self.netns) and self.wants(sock, snapshot)

    def narrow_to(self, netns: int | None, name: str = "") -> None:
        """Show only the sockets of namespace `netns` (None: of every one), named `name`
        in the title."""
        self.netns, self.netns_name = netns, name
        self.rebuild()

    def build_row(self, sock: Socket, ctx: RowContext) -> Row:
        raise NotImplementedError

    def show(self, shown: Shown) -> None:
        """Bring the table up to the poll shown: from its delta, or every row for the
        first poll this pane is given."""
        full = self.context is None
        self.context = ctx = shown.context
        if full:
            self.rebuild()
            return
        snapshot, delta = ctx.snapshot, shown.delta
        self.table.show_situational(self.netns is None and spread(snapshot))
        moved = (*delta.changed, *delta.replaced)
        upserts = [
            self.build_row(s, ctx) for s in (*delta.added, *moved) if self.keeps(s, snapshot)
        ]
        dropped = [s.key for s in moved if not self.keeps(s, snapshot)]
        self.apply_changes(upserts, [*dropped, *(s.key for s in delta.removed)])
        self.update_title()

    def relabel(self, relabel: Relabel) -> None:
        """Rows built again with new names: those of the peers named, or every row."""
        if self.context is None:
            return
        self.context = ctx = relabel.context
        peers = relabel.peers
        if peers is None:
            self.rebuild()
            return
        rows = [
            self.build_row(row.payload, ctx)
            for row in self.table.model.rows.values()
            if isinstance(row.payload, Socket) and row.payload.remote_address in peers
        ]
        self.table.update_rows(rows)

    def apply_changes(self, upserts: list[Row], removals: Iterable[Hashable]) -> None:
        self.table.update_rows(upserts, removals)

    def rebuild(self) -> None:
        """Every row again from the current snapshot (mode or name changes)."""
        ctx = self.context
        if ctx is None:
            return
        snapshot = ctx.snapshot
        self.table.show_situational(self.netns is None and spread(snapshot))
        self.table.replace_rows(
            self.build_row(s, ctx) for s in snapshot.sockets if self.keeps(s, snapshot)
        )
        self.update_title()

    def closed_rows(self) -> tuple[int, int]:
        """(shown, held): rows of sockets the kernel no longer reports, which the title
        does not count as live. None here; the Ephemeral pane lets them linger."""
        return 0, 0

    def update_title(self) -> None:
        """Live rows, the filter, rows that arrived out of sight above, and the sort in
        the border; set only when they change, as every assignment repaints the whole
        pane (twice a poll, for nothing, when idle)."""
        model = self.table.model
        closed_shown, closed_held = self.closed_rows()
        shown = f"{len(model) - closed_shown:,}"
        notes = []
        if model.filtered:
            shown += f" of {model.total - closed_held:,}"
            notes.append("filtered")
        if closed_shown:
            notes.append(f"+{closed_shown:,} closed")
        if notes:
            shown += f" ({', '.join(notes)})"
        if self.table.new_above:
            shown += f" · ▲ {self.table.new_above:,} new above"
        column = self.COLUMNS[model.sort_column]
        where = f" · netns {printable(self.netns_name, 32)}" if self.netns is not None else ""
        titles = (
            f"{self.heading}{where} · {shown}",
            f"sort: {column.title} {'▼' if model.reverse else '▲'}",
        )
        if titles != self._titles:
            self._titles = titles
            self.border_title, self.border_subtitle = titles

    def open_filter(self) -> None:
        self.filter_box.display = True
        self.filter_box.focus()

    @on(Input.Changed)
    def _filter_changed(self, event: Input.Changed) -> None:
        """A bad pattern keeps the last valid filter on the table, and says so in words
        below the box (colour alone says nothing under NO_COLOR)."""
        event.stop()
        try:
            self.table.set_filter(event.value)
        except FilterError as exc:
            self.filter_box.add_class("-invalid")
            self.filter_note.update(self._bad_filter_note(exc))
            self.filter_note.display = True
            return
        self.valid_filter = event.value
        self.filter_box.remove_class("-invalid")
        self.filter_note.display = False
        self.update_title()

    def _bad_filter_note(self, error: FilterError) -> Content:
        shown = self.valid_filter if self.table.model.filtered else "none, every row"
        return text(
            "✖ {reason}; still showing the last valid filter: {shown}",
            reason=str(error).splitlines()[0][:120],
            shown=printable(shown, 60),
        )

    @on(Input.Submitted)
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            self.filter_box.display = False
        self.table.focus()

    @on(SocketTable.SortChanged)
    @on(SocketTable.NewAbove)
    def _table_changed(self) -> None:
        self.update_title()
