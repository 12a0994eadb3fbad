"""The dashboard: one Poller feeds the header and every pane; keys drive everything.

The app owns the single `Poller`; a `HealthFeed` and a `TrafficFeed` subscribed to it
analyse every poll off the event loop and hand back `HealthReport`s and
`TrafficReport`s (the collector's tcp_info switched on only while a node on screen
needs it: `Live.need_traffic`). Poll results arrive as messages that
replace one another while queued, so a slow frame never builds a backlog. The app
publishes each one, and each report, on its `Live` broadcasts, to which every pane and
screen subscribes itself (`ui.live`); its start and end are `view.lifecycle`'s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Static

from portscope.analysis import HealthReport, Thresholds, TrafficReport
from portscope.closing import (
    CloseRefused,
    close_connection,
    close_refusal,
    confirmation,
    connection_label,
)
from portscope.config import Config, config_path, load_config, save_config
from portscope.delta import Delta
from portscope.failures import Failure
from portscope.history.paths import default_db
from portscope.model import Owner, Snapshot, Socket
from portscope.poller import Poller, PollEvent, PollFailed, PollUpdate
from portscope.processes import describe_process
from portscope.recorder.session import SessionHistory
from portscope.recorder.source import HistorySource
from portscope.resolve import Resolver
from portscope.sanitise import printable
from portscope.session import SshSession, current_session
from portscope.ui.actions import (
    PALETTE,
    SCOPE_OF,
    Scope,
    bindings,
    checked_keymap,
    first_key,
    full_keymap,
    key_list,
)
from portscope.ui.live import Live, Switch
from portscope.ui.screens.confirm import ConfirmScreen
from portscope.ui.screens.detail import Describe, ProcessScreen
from portscope.ui.screens.help import HelpScreen
from portscope.ui.screens.history import HistoryScreen
from portscope.ui.screens.pressure import PressureScreen
from portscope.ui.screens.traffic import TrafficScreen
from portscope.ui.text import text, toast_text
from portscope.ui.widgets.ephemeral import EphemeralPane
from portscope.ui.widgets.header import HeaderStrip
from portscope.ui.widgets.listening import ListeningPane
from portscope.ui.widgets.lookup_pane import LookupPane
from portscope.ui.widgets.socket_pane import SocketPane
from portscope.ui.widgets.socket_table import Clock, SocketTable
from portscope.view.analysis_feed import AnalysisFeed
from portscope.view.health_feed import HealthFeed
from portscope.view.history_rows import live_owner, port_of
from portscope.view.lifecycle import Lifecycle
from portscope.view.narrowing import next_namespace
from portscope.view.prefetch import Prefetched, tcp_info_switch
from portscope.view.showing import Showing
from portscope.view.traffic_feed import TrafficFeed

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
MIN_SIZE = (60, 16)
NAMES_BATCH = 0.5

Collect = Callable[[], Snapshot]


class PollArrived(Message):
    """A poller event handed to the app; a newer update replaces one still queued."""

    def __init__(self, event: PollEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        if not isinstance(message, PollArrived):
            return False
        return isinstance(self.event, PollUpdate) or isinstance(message.event, PollFailed)


class HealthArrived(Message):
    """A health analysis, posted from the feed's thread; a newer one replaces one queued."""

    def __init__(self, report: HealthReport) -> None:
        super().__init__()
        self.report = report

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HealthArrived)


class TrafficArrived(Message):
    """A traffic analysis, posted from the feed's thread. Never replaced by a newer one:
    the Ephemeral pane's rows follow each report's rates, and a skipped one would
    leave a row on a rate two polls old."""

    def __init__(self, report: TrafficReport) -> None:
        super().__init__()
        self.report = report


class FailureArrived(Message):
    """Something that failed off screen (a poll subscriber, the health analysis), posted
    from whichever thread caught it, to be shown as a one-line notice."""

    def __init__(self, failure: Failure) -> None:
        super().__init__()
        self.failure = failure


def default_collector() -> tuple[Collect, Switch]:
    """The real collector, reading every namespace when run in the host's, and what
    switches its tcp_info on and off."""
    from portscope.collect import Collector, default_scope

    collector = Collector(namespaces=default_scope())
    return collector.collect, tcp_info_switch(collector)


class PortscopeApp(App[int]):
    """`collect` and `describe` are injectable: tests and screenshots feed deterministic
    snapshots through the real Poller, and facts about processes that exist only there;
    `switch_traffic` switches an injected `collect`'s tcp_info (the real collector's
    when `collect` is not given). `history_db` is the recorder's database the History
    view and the lookup read (default: where `portscope record` writes)."""

    TITLE = "portscope"
    CSS_PATH = "app.tcss"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (110, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.APP)

    def __init__(
        self,
        collect: Collect | None = None,
        interval: float | None = None,
        *,
        clock: Clock = time.time,
        session: SshSession | None = None,
        config: Config | None = None,
        config_file: Path | None = None,
        resolver: Callable[[Callable[[str, str | None], None]], Resolver] = Resolver,
        thresholds: Thresholds | None = None,
        freeze_after_start: bool = False,
        describe: Describe = describe_process,
        switch_traffic: Switch | None = None,
        history_db: Path | None = None,
    ) -> None:
        # Native ANSI mode is what makes Textual honour NO_COLOR by dropping colour
        # altogether; otherwise it only turns the theme grey.
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        self.config_file = config_file
        self.config, self.config_warnings = (
            (config, []) if config is not None else load_config(config_file)
        )
        if collect is None:
            collect, switch_traffic = default_collector()
        self.poller = Poller(
            collect,
            self.config.interval if interval is None else interval,
            on_failure=self._failed,
        )
        self.thresholds = thresholds or self._configured_thresholds()
        self._apply_keymap()
        self.health_feed = HealthFeed(
            lambda report: self.post_message(HealthArrived(report)),
            self.thresholds,
            on_failure=self._failed,
        )
        self.traffic_feed = TrafficFeed(
            lambda report: self.post_message(TrafficArrived(report)), on_failure=self._failed
        )
        self.live = Live(
            self,
            Showing(session, self.thresholds),
            on_failure=self._failed,
            switch_traffic=switch_traffic,
        )
        self.session_history = SessionHistory(self.poller.interval, started=clock())
        self.session_feed: AnalysisFeed[None] = AnalysisFeed(
            lambda event, _follows: self.session_history.on_poll(event),
            lambda _nothing: None,
            "this session's history",
            "portscope-session-history",
            on_failure=self._failed,
        )
        self.history = HistorySource(history_db or default_db(), self.session_history)
        self.lifecycle = Lifecycle(freeze=freeze_after_start)
        self.clock = clock
        self.describe = describe
        self.session = session
        self.numeric = self.config.numeric
        self._make_resolver = resolver
        self._resolver: Resolver | None = None
        self._resolved: set[str] = set()
        self._names_timer: Timer | None = None
        self.header = HeaderStrip(id="header")
        self.listening = ListeningPane(clock, id="listening")
        self.ephemeral = EphemeralPane(clock, id="ephemeral")
        self.lookup = LookupPane(self.history, id="lookup")
        self._unsubscribe: list[Callable[[], None]] = []
        self._settled = False
        self._focus_before_small: Widget | None = None

    def _configured_thresholds(self) -> Thresholds:
        """The config file's warning/critical percentages; defaults if they contradict."""
        try:
            return Thresholds(self.config.warning, self.config.critical)
        except ValueError as exc:
            self.config_warnings.append(f"{exc}; using the defaults")
            return Thresholds()

    def _apply_keymap(self) -> None:
        """The config file's keymap, less the entries that name no binding or no key. The
        palette's key is looked up by the Footer under COMMAND_PALETTE_BINDING."""
        keymap, problems = checked_keymap(self.config.keymap)
        path = self.config_file or config_path()
        self.config_warnings += [f"{path}: {problem}" for problem in problems]
        self.set_keymap(full_keymap(keymap))
        if palette := keymap.get("portscope.palette"):
            self.COMMAND_PALETTE_BINDING = key_list(palette)[0]

    @property
    def shown(self) -> Snapshot | None:
        """The snapshot on screen: the one the port counts follow."""
        return self.live.snapshot

    @property
    def health(self) -> HealthReport | None:
        """The latest health report."""
        return self.live.health

    def compose(self) -> ComposeResult:
        yield self.header
        with Horizontal(id="main"):
            with Vertical(id="socket-panes"):
                yield self.listening
                yield self.ephemeral
            yield self.lookup
        yield Static("", id="too-small")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.theme = self.config.theme if self.config.theme in self.available_themes else self.theme
        self.header.show_polling(self.poller.interval, paused=False)
        for warning in self.config_warnings:
            self.notify(warning, severity="warning", timeout=8)
        self._unsubscribe = [
            self.poller.subscribe(self.health_feed.on_poll),
            self.poller.subscribe(self.traffic_feed.on_poll),
            self.poller.subscribe(self.session_feed.on_poll),
            self.poller.subscribe(lambda ev: self.post_message(PollArrived(ev))),
        ]
        self.run_worker(self.poller.run(), name="poller", group="poller", exit_on_error=False)
        self.lifecycle.start(self.exit)
        self.listening.table.focus()
        self._settled = True

    async def on_unmount(self) -> None:
        self.lifecycle.end()
        self.poller.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.health_feed.close()
        self.traffic_feed.close()
        self.session_feed.close()
        if self._resolver is not None:
            self._resolver.close()

    def notify(
        self,
        message: str | Content,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is shown as text, never read as markup: messages carry
        process names, paths and errors, and `x[/]y` in one ended the app. `markup` is
        accepted because Textual's own callers pass it (Widget.notify always says True);
        it is not honoured. Build messages with `ui.text.text`."""
        super().notify(
            toast_text(message),
            title=toast_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def on_resize(self, event: events.Resize) -> None:
        """Below MIN_SIZE the panes are hidden, which takes the focus from them: the
        focused widget is remembered and given its focus back when the room returns."""
        width, height = event.size
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        main = self.screen_stack[0]
        if small and not self.has_class("-too-small"):
            self._focus_before_small = main.focused
        self.set_class(small, "-too-small")
        self.query_one("#too-small", Static).update(
            text(
                "Terminal too small: {width}x{height}. portscope needs at least "
                "{min_width}x{min_height}; enlarge the window or press {quit} to quit.",
                quit=first_key(self, "portscope.quit"),
                width=width,
                height=height,
                min_width=MIN_SIZE[0],
                min_height=MIN_SIZE[1],
            )
        )
        if not small and self._focus_before_small is not None:
            widget, self._focus_before_small = self._focus_before_small, None
            self.call_after_refresh(self._refocus, widget)

    def _refocus(self, widget: Widget) -> None:
        main = self.screen_stack[0]
        if main.focused is None:
            target = widget if widget.is_attached and widget.focusable else self.listening.table
            main.set_focus(target)

    # --- data flow -------------------------------------------------------------------

    @on(PollArrived)
    def _poll_arrived(self, message: PollArrived) -> None:
        """Published to every subscriber; then, once it is on screen, the start-up's end
        (`Lifecycle.on_screen`), after the panes that fill in the frame after."""
        event = message.event
        if isinstance(event, PollUpdate):
            self.show_snapshot(event.snapshot, event.delta, event.sequence)
        elif self.shown is not None:
            self.live.poll_failed(event)
        else:
            self.notify(text("poll failed: {error}", error=event.error), severity="error")
        self.call_after_refresh(self.lifecycle.on_screen, self.shown is not None)

    def show_snapshot(self, snapshot: Snapshot, delta: Delta, sequence: int) -> None:
        """Show a poll on every pane and screen; a skipped (coalesced) poll means a
        fresh delta (`Showing.follow`)."""
        self.live.poll(snapshot, delta, sequence, self.clock())

    def _failed(self, failure: Failure) -> None:
        self.post_message(FailureArrived(failure))

    @on(FailureArrived)
    def _show_failure(self, message: FailureArrived) -> None:
        self.notify(message.failure.notice, severity="error")

    @on(HealthArrived)
    def _health_arrived(self, message: HealthArrived) -> None:
        self.live.report(message.report)

    @on(TrafficArrived)
    def _traffic_arrived(self, message: TrafficArrived) -> None:
        self.live.report_traffic(message.report)

    def _name_resolved(self, address: str, name: str | None) -> None:
        if name is None:
            return
        self._resolved.add(address)
        if self._names_timer is None:
            self._names_timer = self.set_timer(NAMES_BATCH, self._apply_names)

    def _apply_names(self) -> None:
        """Rebuild only the rows whose peer got a name since the last batch."""
        self._names_timer = None
        addresses, self._resolved = self._resolved, set()
        if not self.numeric:
            self.live.named(frozenset(addresses))

    def _refresh_contexts(self) -> None:
        """Every row again: peers named, or as numbers."""
        name_of = None if self.numeric or self._resolver is None else self._resolver.name
        self.live.relabel(name_of)

    # --- focus helpers ---------------------------------------------------------------

    def focused_pane(self, screen: Screen | None = None) -> Widget | None:
        """The pane holding the focus of `screen` (the active one by default)."""
        node = (screen or self.screen).focused
        while node is not None and not node.has_class("pane"):
            node = node.parent if isinstance(node.parent, Widget) else None
        return node

    def focused_socket_pane(self, screen: Screen | None = None) -> SocketPane | None:
        pane = self.focused_pane(screen)
        return pane if isinstance(pane, SocketPane) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide keys that make no sense where the focus is; dim those that do nothing now."""
        return self.state_of_action(action, self.screen)

    def state_of_action(self, action: str, screen: Screen) -> bool | None:
        """`check_action` for `screen`: the command palette asks about the screen it was
        opened from, whose focus is where the user was, not about itself. The dashboard's
        actions apply on the dashboard only, to the pane with the focus."""
        if SCOPE_OF.get(action) is not Scope.DASHBOARD:
            return True
        if screen is not self.screen_stack[0]:
            return False
        pane = self.focused_socket_pane(screen)
        if action == "toggle_all":
            return pane is self.ephemeral
        if action == "toggle_maximize":
            return self.focused_pane(screen) is not None or screen.maximized is not None
        if action == "focus_lookup":
            return True
        if pane is None:
            return False
        if action in ("lookup_row", "close_connection"):
            return None if self.selected_socket(pane) is None else True
        return True

    def selected_socket(self, pane: SocketPane) -> Socket | None:
        row = pane.table.cursor_row
        return row.payload if row is not None and isinstance(row.payload, Socket) else None

    # --- actions ---------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_pressure(self) -> None:
        if isinstance(self.screen, PressureScreen):
            self.pop_screen()
        else:
            self.push_screen(PressureScreen())

    def action_traffic(self) -> None:
        if isinstance(self.screen, TrafficScreen):
            self.pop_screen()
        else:
            self.push_screen(TrafficScreen(self.open_process))

    def action_history(self) -> None:
        if isinstance(self.screen, HistoryScreen):
            self.pop_screen()
        else:
            self.push_screen(HistoryScreen(self.history, self.clock))

    @on(HistoryScreen.Chosen)
    def _history_chosen(self, message: HistoryScreen.Chosen) -> None:
        """Enter in the History view: the process, if it still holds sockets, over the
        view; else the lookup of the row's port, on the dashboard."""
        found = live_owner(message.item, self.shown)
        if found is not None:
            owner, sock = found

            def done(port: int | None) -> None:
                if port is not None:
                    self.pop_screen()
                    self.look_up_port(port)

            self.push_screen(ProcessScreen(owner, sock, self.clock, self.describe), done)
            return
        port = port_of(message.item)
        if port is None:
            self.notify("The kernel lent this listener's port: there is no one port to look up.")
            return
        self.pop_screen()
        self.look_up_port(port)

    def action_filter(self) -> None:
        pane = self.focused_socket_pane()
        if pane is not None:
            pane.open_filter()

    def action_sort(self) -> None:
        pane = self.focused_socket_pane()
        if pane is not None:
            table = pane.table
            position = table.columns.index
            shown = table.visible_columns or table.columns.ids
            current = position(table.model.sort_column)
            later = [column for column in shown if position(column) > current]
            table.sort_by(later[0] if later else shown[0], reverse=False)

    def action_reverse(self) -> None:
        pane = self.focused_socket_pane()
        if pane is not None:
            table = pane.table
            table.sort_by(table.model.sort_column, reverse=not table.model.reverse)

    def action_toggle_all(self) -> None:
        self.ephemeral.set_show_all(not self.ephemeral.show_all)
        self.refresh_bindings()

    def action_next_netns(self) -> None:
        """Every pane narrowed to the next namespace with sockets, then to all again."""
        snapshot = self.live.snapshot
        if snapshot is None:
            return
        current = self.listening.netns
        chosen = next_namespace(snapshot, current)
        name = "" if chosen is None else snapshot.namespace_name(chosen)
        for pane in (self.listening, self.ephemeral, self.header):
            pane.narrow_to(chosen, name)
        self.notify(
            "every network namespace" if chosen is None else f"netns {printable(name, 60)}",
            timeout=2,
        )

    def action_toggle_pause(self) -> None:
        if self.poller.paused:
            self.poller.resume()
        else:
            self.poller.pause()
        self.header.show_polling(self.poller.interval, self.poller.paused)

    def action_interval(self, step: int) -> None:
        current = self.poller.interval
        if step > 0:
            slower = [i for i in INTERVALS if i > current]
            target = slower[0] if slower else INTERVALS[-1]
        else:
            faster = [i for i in INTERVALS if i < current]
            target = faster[-1] if faster else INTERVALS[0]
        self.poller.interval = target
        self.session_history.interval = self.poller.interval
        self.header.show_polling(self.poller.interval, self.poller.paused)
        self._save(interval=self.poller.interval)

    def action_toggle_numeric(self) -> None:
        self.numeric = not self.numeric
        if not self.numeric and self._resolver is None:
            self._resolver = self._make_resolver(
                lambda address, name: self.call_from_thread(self._name_resolved, address, name)
            )
        self.notify("numeric addresses" if self.numeric else "resolving host names", timeout=2)
        self._refresh_contexts()
        self._save(numeric=self.numeric)

    def action_toggle_maximize(self) -> None:
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        pane = self.focused_pane()
        if pane is not None:
            screen.maximize(pane, container=False)

    def action_focus_lookup(self) -> None:
        self.lookup.query_box.focus()

    def action_lookup_row(self) -> None:
        pane = self.focused_socket_pane()
        sock = self.selected_socket(pane) if pane is not None else None
        if sock is not None:
            self.look_up_port(sock.local_port)

    def action_close_connection(self) -> None:
        """Close the selected connection (SOCK_DESTROY) after a confirmation naming both
        ends, the state and the process; a socket that cannot be closed (a listener,
        UDP) says why instead."""
        pane = self.focused_socket_pane()
        sock = self.selected_socket(pane) if pane is not None else None
        if sock is None:
            return
        reason = close_refusal(sock)
        if reason is not None:
            message = text(
                "Not closed: {label}: {reason}.", label=connection_label(sock), reason=reason
            )
            self.notify(message, severity="warning", timeout=8)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._close(sock)

        self.push_screen(ConfirmScreen("Close this connection?", confirmation(sock)), answered)

    @work(thread=True, group="close", exit_on_error=False)
    def _close(self, sock: Socket) -> None:
        """Blocking (a netlink dump and request): in a thread, never the event loop."""
        try:
            message, severity = close_connection(sock), "information"
        except CloseRefused as exc:
            message, severity = str(exc), "error"
        self.call_from_thread(
            self.notify, text("{message}", message=message), severity=severity, timeout=8
        )

    def look_up_port(self, port: int) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        self.lookup.look_up(str(port))
        self.lookup.query_box.focus()

    @on(SocketTable.Selected)
    def _row_selected(self, event: SocketTable.Selected) -> None:
        sock = event.row.payload
        if not isinstance(sock, Socket) or event.table.screen is not self.screen_stack[0]:
            return
        self.lookup.look_up(str(sock.local_port))
        if sock.owner is None:
            self.notify(hidden_owner_reason(sock, self.shown), severity="warning")
            self.look_up_port(sock.local_port)
            return

        self.open_process(sock.owner, sock)

    def open_process(self, owner: Owner, sock: Socket) -> None:
        """The process details of `owner`, on the row `sock`; a port it is dismissed
        with is looked up on the dashboard, whatever screen it was opened from."""

        def done(port: int | None) -> None:
            if port is not None:
                while len(self.screen_stack) > 1:
                    self.pop_screen()
                self.look_up_port(port)

        self.push_screen(ProcessScreen(owner, sock, self.clock, self.describe), done)

    # --- palette and settings --------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for item in PALETTE:
            if self.state_of_action(item.name, screen) is not False:
                yield SystemCommand(item.label, item.help, self._runner(item.action))

    def _runner(self, action: str) -> Callable[[], None]:
        async def run() -> None:
            await self.run_action(action)

        return lambda: self.call_later(run)

    def watch_theme(self, theme: str) -> None:
        if self._settled and theme != self.config.theme:
            self._save(theme=theme)

    def _save(self, **changes: object) -> None:
        self.config = replace(self.config, **changes)
        try:
            save_config(self.config, self.config_file)
        except OSError as exc:
            reason = exc.strerror or exc
            self.notify(text("settings not saved: {reason}", reason=reason), severity="warning")


def hidden_owner_reason(sock: Socket, snapshot: Snapshot | None) -> str:
    """Why Enter on this row shows the port's lookup instead of a process."""
    if sock.state == "TIME_WAIT":
        why = "No process holds a TIME_WAIT socket: the kernel keeps it until it expires."
    elif snapshot is not None and not snapshot.privileged:
        why = "Its owner belongs to another user: run portscope with sudo to see it."
    else:
        why = "No process is visible for it (it may belong to another namespace)."
    return f"{why} Its port is in the lookup pane."


def run_dashboard(
    collect: Prefetched | None = None,
    interval: float | None = None,
    history_db: Path | None = None,
) -> int:
    """`portscope` with no command (after `view.lifecycle.begin`, whose collector's
    tcp_info the dashboard switches): run it until q, ctrl+c, SIGHUP or SIGTERM."""
    if os.environ.get("TERM") == "dumb":
        os.environ.setdefault("NO_COLOR", "1")  # a dumb terminal shows no colour either
    app = PortscopeApp(
        collect,
        interval=interval,
        session=current_session(),
        freeze_after_start=True,
        switch_traffic=collect.switch_traffic if collect is not None else None,
        history_db=history_db,
    )
    app.run()
    return app.return_code or 0
