"""The History view (`h`): recent closed connections and listener changes, newest first.

Read from the recorder's database when there is one, else from what this dashboard
session's polls saw end (`recorder.source`), in a thread worker (the database is on
disk), again with each poll shown. The top line says which source it shows and what
that source could see; a database that is there but cannot be used says why there, in
words, and the session's history is shown instead. The table is a pane like the
dashboard's: the same `/` box, the same expressions, Enter on a row opens the process
if it still holds sockets, else the lookup of the row's port.
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from portscope.failures import survived
from portscope.history.records import DAY, HistoryFilter
from portscope.recorder.source import HistorySource, SourcedPage
from portscope.sanitise import printable
from portscope.ui.actions import Scope, bindings, first_key
from portscope.ui.widgets.socket_pane import SocketPane
from portscope.ui.widgets.socket_table import Clock, SocketTable
from portscope.view.history import coverage_text, spans_namespaces
from portscope.view.history_rows import HISTORY_COLUMNS, HistoryItem, history_rows
from portscope.view.showing import Relabel, Shown

LIMIT = 500
"""Rows of each kind read: the newest connections, the newest listener events."""
WINDOW = DAY


class HistoryPane(SocketPane):
    """The history's rows with the dashboard's filter box; a fresh page with each poll."""

    TITLE = "History"
    COLUMNS = HISTORY_COLUMNS
    SORT_COLUMN = "time"
    REVERSE = True
    EMPTY = "nothing has ended in the window yet"
    FIRST_FRAME = True

    class Loaded(Message):
        """A page read (or why not), for the screen's summary."""

        def __init__(self, sourced: SourcedPage | None, failure: str | None) -> None:
            super().__init__()
            self.sourced = sourced
            self.failure = failure

    def __init__(self, source: HistorySource, clock: Clock) -> None:
        super().__init__(clock, id="history-pane")
        self.source = source
        self.sourced: SourcedPage | None = None
        self._reading = False
        self._again = False

    def show(self, shown: Shown) -> None:
        """Each poll shown: read the history again (once the read under way is done)."""
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._read(self.clock())

    def relabel(self, relabel: Relabel) -> None:
        """Recorded rows keep the addresses they were written with: nothing to name."""

    def rebuild(self) -> None:
        if self.sourced is not None:
            page = self.sourced.page
            items = (*page.connections, *page.listener_events)
            self.table.show_situational(spans_namespaces(items))
            self.table.replace_rows(history_rows(items))
        self.update_title()

    @work(thread=True, group="history", exit_on_error=False)
    def _read(self, now: float) -> None:
        wanted = HistoryFilter(now - WINDOW, now)
        try:
            sourced, failure = self.source.recent(wanted, LIMIT), None
        except Exception as exc:  # nothing the history does may end the dashboard
            survived("reading the history", exc)
            sourced, failure = None, f"the history could not be read: {type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._loaded, sourced, failure)

    def _loaded(self, sourced: SourcedPage | None, failure: str | None) -> None:
        self._reading = False
        if sourced is not None:
            self.sourced = sourced
            self.rebuild()
        self.post_message(self.Loaded(sourced, failure))
        if self._again:
            self._again = False
            self._reading = True
            self._read(self.clock())


def summary_text(sourced: SourcedPage, now: float, keys: str) -> Content:
    """Where the rows come from, what that could see, how many the window holds, and
    `keys`, what the Footer has no room for."""
    page = sourced.page
    lines = [Content.assemble(("from ", "dim"), printable(sourced.source))]
    if sourced.problem:
        lines.append(Content.styled(f"✖ {printable(sourced.problem)}", "$text-warning"))
    lines += [
        Content.styled(line, "dim") for line in coverage_text(page.runs, page.filter.since, now)
    ]
    count = f"{page.total:,} connections ended in the last 24 h"
    if page.total > len(page.connections):
        count += f", the newest {len(page.connections):,} listed"
    if page.by_process:
        most = ", ".join(f"{printable(name, 30)} {n:,}" for name, n in page.by_process[:3])
        count += f"; most by {most}"
    lines.append(Content.assemble(count, (f" · {keys}", "dim")))
    return Content("\n").join(lines)


class HistoryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.HISTORY)

    class Chosen(Message):
        """Enter on a row: the record, for the app to open (`view.history_rows.opened`)."""

        def __init__(self, item: HistoryItem) -> None:
            super().__init__()
            self.item = item

    def __init__(self, source: HistorySource, clock: Clock = time.time) -> None:
        super().__init__()
        self.summary = Static("reading the history…", id="history-summary")
        self.pane = HistoryPane(source, clock)

    def compose(self) -> ComposeResult:
        with Vertical(id="history"):
            yield self.summary
            yield self.pane
        yield Footer()

    def on_mount(self) -> None:
        self.pane.table.focus()

    def action_filter(self) -> None:
        self.pane.open_filter()

    @on(HistoryPane.Loaded)
    def _loaded(self, message: HistoryPane.Loaded) -> None:
        if message.failure is not None:
            self.summary.update(Content.styled(f"✖ {printable(message.failure)}", "$text-error"))
        elif message.sourced is not None:
            keys = (
                f"{first_key(self, 'portscope.history.filter')} filters, "
                f"{first_key(self, 'portscope.table.details')} opens"
            )
            self.summary.update(summary_text(message.sourced, self.pane.clock(), keys))

    @on(SocketTable.Selected)
    def _row_selected(self, event: SocketTable.Selected) -> None:
        """Enter: the app opens the row's process or its port's lookup."""
        event.stop()
        self.post_message(self.Chosen(event.row.subject))
