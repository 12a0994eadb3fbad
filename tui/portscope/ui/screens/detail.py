"""Process details: who holds these sockets, and the safe way to stop it.

It subscribes to the polls shown, the health reports and the traffic reports
(`ui.live`), and needs traffic collected while it is open: the process's totals, rates
and a sparkline of them, and each of its flagged connections explained. Details are read
in a thread worker, again with each poll and after a signal, so the status and age stay
current and a process that has gone says so; each signal offered (`OFFERED_SIGNALS`:
reload, interrupt, terminate, kill) asks as `signal_questions` says (kill twice), naming
the process and pid. Refusals (PID 1, portscope, its parent and its shell)
and permission errors are shown as plain sentences, never as tracebacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from portscope.analysis import CloseWaitTrend, HealthReport, TrafficReport
from portscope.model import Owner, Snapshot, Socket
from portscope.processes import (
    OFFERED_SIGNALS,
    ActionRefused,
    ProcessDetails,
    describe_process,
    owner_label,
    placement_facts,
    refuse_reason,
    send_signal,
    signal_questions,
)
from portscope.sanitise import printable
from portscope.ui.actions import Scope, bindings, first_key
from portscope.ui.live import Live
from portscope.ui.pressure_text import finding_line
from portscope.ui.screens.confirm import ConfirmScreen
from portscope.ui.text import text
from portscope.ui.widgets.socket_table import Clock, SocketTable
from portscope.view.rows import PROCESS_COLUMNS, process_row
from portscope.view.showing import Shown
from portscope.view.socket_cells import format_age
from portscope.view.traffic_groups import process_traffic

LABEL = "dim"
Describe = Callable[[Owner], ProcessDetails]
COPY_SENT = (
    "Sent the row to the terminal's clipboard (OSC 52); a terminal that does not support "
    "OSC 52, or tmux without set-clipboard, ignores it."
)
"""What `c` can honestly say: the terminal never tells whether it took the text."""


def details_text(
    details: ProcessDetails | None, owner: Owner, clock_now: float, netns: str = ""
) -> Content:
    """The facts block; `None` details means still loading. `netns`: the network
    namespaces its sockets live in, named ("" when not known)."""

    def line(label: str, value: str) -> Content:
        return Content.assemble((f"{label:<9}", LABEL), value)

    if details is None:
        return Content.styled("reading process details…", LABEL)
    cmdline = " ".join(details.cmdline) if details.cmdline else "hidden (run with sudo to see it)"
    started = "unknown"
    if details.started is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(details.started))
        started = f"{stamp} ({format_age(clock_now - details.started)} ago)"
    parent = "unknown"
    if details.parent_pid is not None:
        parent = f"{details.parent_pid} ({printable(details.parent_name, 40) or '?'})"
    lines = [
        line("cmdline", printable(cmdline, 400)),
        line("user", printable(details.user) or "hidden"),
        line("started", started),
        line("cwd", printable(details.cwd) or "not visible"),
        line("exe", printable(details.exe) or "not visible"),
        line("parent", parent),
        *(line(label, value) for label, value in placement_facts(owner)),
        *([line("netns", netns)] if netns else []),
        line("status", status_text(details)),
    ]
    return Content("\n").join(lines)


def status_text(details: ProcessDetails) -> str:
    if details.exited:
        because = f"; {details.status}" if details.status else ""
        return f"exited{because} (the rest is what it was)"
    return printable(details.status) or "unknown"


def same_process(owner: Owner, other: Owner | None) -> bool:
    """Same pid and same start time: a pid alone may have been handed to another process."""
    return other is not None and (other.pid, other.create_time) == (owner.pid, owner.create_time)


def sockets_of(owner: Owner, snapshot: Snapshot) -> list[Socket]:
    """The sockets this process holds in `snapshot`."""
    return [s for s in snapshot.sockets if same_process(owner, s.owner)]


def close_wait_of(owner: Owner, report: HealthReport | None) -> CloseWaitTrend | None:
    """This process's CLOSE_WAIT trend (same pid and start time), if it holds any."""
    if report is None:
        return None
    return next((t for t in report.close_wait if same_process(owner, t.owner)), None)


def traffic_text(
    owner: Owner, report: TrafficReport | None, sockets: tuple[Socket, ...]
) -> Content:
    first, *more = process_traffic(report, owner, sockets)
    lines = [Content.assemble((f"{'traffic':<9}", LABEL), first)]
    lines.extend(Content.assemble(" " * 9, ("▲ ", "$text-warning"), line) for line in more)
    return Content("\n").join(lines)


def close_wait_text(owner: Owner, report: HealthReport | None) -> Content:
    if report is None:
        return Content.styled("CLOSE_WAIT: waiting for the first analysis…", LABEL)
    trend = close_wait_of(owner, report)
    if trend is None:
        return Content.styled("CLOSE_WAIT: none held by this process", LABEL)
    return finding_line(trend, report)


class ProcessScreen(Screen[int | None]):
    """Dismissed with a port to look up, or None."""

    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.PROCESS)

    def __init__(
        self, owner: Owner, selected: Socket, clock: Clock, describe: Describe = describe_process
    ) -> None:
        super().__init__()
        self.describe = describe
        self.clock = clock
        self.health: HealthReport | None = None
        self.traffic: TrafficReport | None = None
        self.owner = owner
        self.sockets: tuple[Socket, ...] = ()
        self.selected = selected
        self.now = clock()
        self.details: ProcessDetails | None = None
        self.netns = ""
        """The namespaces its sockets live in, named, as the last poll saw them."""
        self.refusal = refuse_reason(owner)
        self.table = SocketTable(
            PROCESS_COLUMNS,
            sort_column="lport",
            selectable=False,
            empty_text="it holds no sockets now",
            id="process-sockets",
        )

    def compose(self) -> ComposeResult:
        with Vertical(id="process"):
            yield Static(
                Content.styled(owner_label(self.owner), "bold $text-accent"), id="process-title"
            )
            yield Static(details_text(None, self.owner, self.now), id="process-facts")
            yield Static(close_wait_text(self.owner, self.health), id="process-health")
            yield Static(traffic_text(self.owner, None, ()), id="process-traffic")
            yield Sparkline([], id="process-spark")
            yield Static(self._refusal_text(), id="process-refusal")
            yield self.table
        yield Footer()

    def show_health(self, report: HealthReport) -> None:
        """Each new analysis: this process's CLOSE_WAIT count and whether it keeps growing."""
        self.health = report
        self.query_one("#process-health", Static).update(close_wait_text(self.owner, report))

    def show_traffic(self, report: TrafficReport) -> None:
        """Each traffic report: this process's totals, rates and flagged connections."""
        self.traffic = report
        self._show_traffic()

    def _show_traffic(self) -> None:
        report = self.traffic
        self.query_one("#process-traffic", Static).update(
            traffic_text(self.owner, report, self.sockets)
        )
        spark = self.query_one("#process-spark", Sparkline)
        key = (self.owner.pid, self.owner.create_time)
        held = report is not None and report.group("processes", key) is not None
        history = report.sparkline("processes", key) if report is not None and held else ()
        spark.data = list(history)
        spark.display = len(history) > 1

    def show_poll(self, shown: Shown) -> None:
        """Each poll: the sockets it holds now, and its status and age read again."""
        self.now = self.clock()
        snapshot = shown.snapshot
        self.sockets = tuple(sockets_of(self.owner, snapshot))
        spaces = dict.fromkeys(s.netns for s in (self.sockets or (self.selected,)))
        named = (printable(snapshot.namespace_name(n), 60) for n in spaces)
        self.netns = ", ".join(named) if len(snapshot.namespaces) > 1 else ""
        self._show_sockets()
        self._load()

    @property
    def exited(self) -> bool:
        return self.details is not None and self.details.exited

    def _refusal_text(self) -> Content:
        if self.exited:
            return Content.styled(
                "It has exited: there is nothing to signal (reload, terminate, kill…).",
                "$text-warning",
            )
        if self.refusal is None:
            offers = (
                text(
                    "{key} {action} ({name})",
                    key=first_key(self, f"portscope.process.{offer.action.lower()}"),
                    action=offer.action.lower(),
                    name=sig.name,
                )
                for sig, offer in OFFERED_SIGNALS.items()
            )
            asks = Content("; each asks first (kill twice).")
            return Content.assemble(Content(", ").join(offers), asks).stylize(LABEL)
        return text("Every signal is refused: {reason}.", reason=self.refusal).stylize(
            "$text-warning"
        )

    def on_mount(self) -> None:
        """The poll on screen and its health are handed over as it subscribes: its
        sockets are shown and its details read before the cursor goes to the one chosen."""
        live = Live.of(self)
        live.on_health(self, self.show_health)
        live.on_poll(self, self.show_poll)
        live.need_traffic(self)
        live.on_traffic(self, self.show_traffic)
        index = self.table.model.index_of(self.selected.key)
        if index is not None:
            self.table.cursor = index
        self.table.focus()

    def on_unmount(self) -> None:
        Live.of(self).release_traffic(self)

    def _show_sockets(self) -> None:
        self.table.border_title = f"sockets of this process · {len(self.sockets)}"
        self.table.replace_rows(process_row(s) for s in self.sockets)

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def _load(self) -> None:
        details = self.describe(self.owner)
        self.app.call_from_thread(self._loaded, details)

    def _loaded(self, details: ProcessDetails) -> None:
        """Fresh details: the facts, and whether terminate and kill still apply. A
        process that has gone keeps the facts last read while it ran."""
        was_exited = self.exited
        if self.details is not None:
            details = details.known_from(self.details)
        self.details = details
        facts = details_text(details, self.owner, self.now, self.netns)
        self.query_one("#process-facts", Static).update(facts)
        if self.exited != was_exited:
            self.query_one("#process-refusal", Static).update(self._refusal_text())
            self.refresh_bindings()

    def _selected_socket(self) -> Socket:
        row = self.table.cursor_row
        return row.payload if row is not None and isinstance(row.payload, Socket) else self.selected

    def action_copy_row(self) -> None:
        row = self.table.cursor_row
        if row is None:
            return
        self.app.copy_to_clipboard(row.text())
        self.notify(COPY_SENT, timeout=5)

    def action_lookup(self) -> None:
        self.dismiss(self._selected_socket().local_port)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Signals are dimmed, with the reason on screen, for refused processes and for
        one that has exited."""
        if action == "signal" and (self.refusal is not None or self.exited):
            return None
        return True

    def action_signal(self, sig: int) -> None:
        """Ask each of the signal's confirmations in turn (`signal_questions`); the
        last Yes sends it."""
        questions = list(signal_questions(self.owner, sig))

        def ask(yes: bool | None = True) -> None:
            if not yes:
                return
            if not questions:
                self._signal(sig)
                return
            title, question = questions.pop(0)
            self.app.push_screen(ConfirmScreen(title, question), ask)

        ask()

    @work(thread=True, exclusive=True, group="signal", exit_on_error=False)
    def _signal(self, sig: int) -> None:
        try:
            message, severity = send_signal(self.owner, sig), "information"
        except ActionRefused as exc:
            message, severity = str(exc), "error"
        self.app.call_from_thread(self.notify, message, severity=severity, timeout=8)
        details = self.describe(self.owner)
        self.app.call_from_thread(self._loaded, details)
