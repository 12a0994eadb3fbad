"""The Lookup pane: type a port, range or name; the card updates as you type.

Typing is debounced, and the lookup runs in a thread worker (the registry loads
lazily on first use, the port's History is read from the recorder's database or this
session's: `recorder.source`), so a keystroke never waits for the registry or the disk.
Live use on the card follows each poll shown (`ui.live`).
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, Static

from portscope.collect import read_port_rules
from portscope.history.records import PortHistories
from portscope.knowledge import LookupResult, QueryError, lookup
from portscope.model import Snapshot
from portscope.recorder.source import HistorySource
from portscope.ui.actions import Scope, bindings
from portscope.ui.live import Live
from portscope.ui.widgets.lookup_card import DIM, result_card
from portscope.ui.widgets.socket_table import SocketTable
from portscope.view.showing import Shown

DEBOUNCE = 0.2
HINT = "Type a port (60630), a range (8000-8100) or a name (postgres)."


class LookupPane(Vertical):
    """Search box plus the card of its answer, refreshed when a new snapshot arrives."""

    ALLOW_MAXIMIZE = True
    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.LOOKUP)

    def __init__(self, history: HistorySource | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.history = history
        self.query_box = Input(placeholder="look up a port: 60630, 8000-8100, postgres")
        self.card = Static(Content.styled(HINT, DIM), id="lookup-card")
        self.snapshot: Snapshot | None = None
        self.shown_query = ""
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield self.query_box
        with VerticalScroll(id="lookup-scroll"):
            yield self.card

    def on_mount(self) -> None:
        self.border_title = "Lookup"
        Live.of(self).on_poll(self, self.show_poll)

    def action_leave(self) -> None:
        self.screen.focus_next(SocketTable)

    def look_up(self, text: str) -> None:
        """Show `text` in the box and its answer now (Enter/`l` from another pane)."""
        with self.query_box.prevent(Input.Changed):
            self.query_box.value = text
        self._run(text)

    def show_poll(self, shown: Shown) -> None:
        """Live use on the card follows the newest snapshot."""
        self.snapshot = shown.snapshot
        if self.shown_query and self.display:
            self._run(self.shown_query)

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        value = event.value
        self._debounce = self.set_timer(DEBOUNCE, lambda: self._run(value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        self._run(event.value)

    def _run(self, text: str) -> None:
        self.shown_query = text.strip()
        if not self.shown_query:
            self.card.update(Content.styled(HINT, DIM))
            self.border_subtitle = ""
            return
        self._look_up(self.shown_query, self.snapshot)

    @work(thread=True, exclusive=True, group="lookup", exit_on_error=False)
    def _look_up(self, text: str, snapshot: Snapshot | None) -> None:
        histories = None
        try:
            result: LookupResult | str = lookup(text, read_port_rules(snapshot), snapshot)
        except QueryError as exc:
            result = str(exc)
        else:
            if self.history is not None:
                histories = self.history.port_histories(r.port for r in result.reports)
        self.app.call_from_thread(self._show, text, result, histories)

    def _show(self, text: str, result: LookupResult | str, histories: PortHistories | None) -> None:
        if text != self.shown_query:
            return
        if isinstance(result, str):
            self.query_box.add_class("-invalid")
            self.border_subtitle = ""
            self.card.update(Content.styled(result, "$text-error"))
            return
        self.query_box.remove_class("-invalid")
        self.border_subtitle = f"{result.total} match{'es' if result.total != 1 else ''}"
        self.card.update(result_card(result, histories))
