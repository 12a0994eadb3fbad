"""What the dashboard shows, broadcast: each poll, its rows relabelled, its health, its
traffic, a failure.

The app only publishes. Each pane and screen subscribes itself when it mounts (Textual's
`Signal`, which drops a node once it is removed), so a new pane or view is a new file
and one line of composition, and nothing reaches into a pane to feed it. Subscribing
hands over the latest poll and report at once, so a screen opened later starts from
what is on screen. Subscribers are called at once, on the event loop, in the order they
subscribed; one that raises is logged and shown as a notice, and the others go on.

Traffic costs the collector a tcp_info per connection (BENCHMARKS.md, "Traffic"), so it
is collected only while some node on screen says it needs it (`need_traffic`): asked
again with every poll and whenever a node says its need changed, and switched with
`switch_traffic`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from textual.app import App
from textual.dom import DOMNode
from textual.signal import Signal

from portscope.analysis import HealthReport, TrafficReport
from portscope.delta import Delta
from portscope.events import PollFailed
from portscope.failures import OnFailure, survived
from portscope.model import Snapshot
from portscope.view.rows import NameOf
from portscope.view.showing import Relabel, Showing, Shown

T = TypeVar("T")
Handler = Callable[[T], object]
Switch = Callable[[bool], object]
Wants = Callable[[], bool]


def always() -> bool:
    return True


class Live:
    """The dashboard's broadcasts, owned by its app: `Live.of(node)` from any node in it."""

    def __init__(
        self,
        app: App[object],
        showing: Showing,
        on_failure: OnFailure,
        switch_traffic: Switch | None = None,
    ) -> None:
        self._app = app
        self._on_failure = on_failure
        self.showing = showing
        self.shown: Shown | None = None
        """The poll on screen, its context as last relabelled."""
        self.health: HealthReport | None = None
        self.traffic: TrafficReport | None = None
        self.collecting_traffic = False
        """Whether the collector is asked for tcp_info now."""
        self._switch_traffic = switch_traffic
        self._traffic_needs: dict[DOMNode, Wants] = {}
        self._polls: Signal[Shown] = Signal(app, "polls")
        self._relabels: Signal[Relabel] = Signal(app, "relabels")
        self._reports: Signal[HealthReport] = Signal(app, "health")
        self._traffic: Signal[TrafficReport] = Signal(app, "traffic")
        self._failures: Signal[PollFailed] = Signal(app, "poll failures")

    @staticmethod
    def of(node: DOMNode) -> Live:
        live = getattr(node.app, "live", None)
        if not isinstance(live, Live):
            raise TypeError(f"{type(node.app).__name__} has no live broadcasts")
        return live

    @property
    def snapshot(self) -> Snapshot | None:
        return self.shown.snapshot if self.shown is not None else None

    # --- subscribing: panes and screens, in on_mount ---------------------------------

    def on_poll(
        self, node: DOMNode, handler: Handler[Shown], *, after_first_frame: bool = False
    ) -> None:
        """Each poll shown. `after_first_frame`: the dashboard's first poll only once
        the frame showing it to the others is drawn: at 20,000 connections a pane's rows
        take longer to build than the first frame should wait (BENCHMARKS.md, "Behind
        the code"). A newer poll shown first is handed over instead."""
        guarded = self._guarded(node, handler, "the poll")
        if after_first_frame:
            guarded = self._after_first_frame(node, guarded)
        self._polls.subscribe(node, guarded, immediate=True)
        if self.shown is not None:
            guarded(self.shown)

    def on_relabel(self, node: DOMNode, handler: Handler[Relabel]) -> None:
        """The shown poll's rows to build again: names came in or were turned on or off."""
        self._relabels.subscribe(node, self._guarded(node, handler, "names"), immediate=True)

    def on_health(self, node: DOMNode, handler: Handler[HealthReport]) -> None:
        """Each health report, the latest one at once."""
        guarded = self._guarded(node, handler, "the health report")
        self._reports.subscribe(node, guarded, immediate=True)
        if self.health is not None:
            guarded(self.health)

    def on_traffic(self, node: DOMNode, handler: Handler[TrafficReport]) -> None:
        """Each traffic report, the latest one at once. Reports come whether or not
        traffic is collected: one without counters says why (`unavailable`)."""
        guarded = self._guarded(node, handler, "the traffic")
        self._traffic.subscribe(node, guarded, immediate=True)
        if self.traffic is not None:
            guarded(self.traffic)

    def need_traffic(self, node: DOMNode, wants: Wants = always) -> None:
        """`node` needs traffic collected whenever `wants()` says so, until it is
        removed or calls `release_traffic`."""
        self._traffic_needs[node] = wants
        self.traffic_needs_changed()

    def release_traffic(self, node: DOMNode) -> None:
        self._traffic_needs.pop(node, None)
        self.traffic_needs_changed()

    def traffic_needs_changed(self) -> None:
        """Ask every node that needs traffic again; switch the collection on or off."""
        needs = self._traffic_needs
        for node in [node for node in needs if not node.is_attached]:
            del needs[node]
        wanted = any(wants() for wants in needs.values())
        if wanted != self.collecting_traffic:
            self.collecting_traffic = wanted
            if self._switch_traffic is not None:
                self._switch_traffic(wanted)

    def on_poll_failed(self, node: DOMNode, handler: Handler[PollFailed]) -> None:
        """A poll that failed while an earlier one is on screen (with nothing on screen
        yet, the app says so in a notice)."""
        guarded = self._guarded(node, handler, "a failed poll")
        self._failures.subscribe(node, guarded, immediate=True)

    # --- publishing: the app ---------------------------------------------------------

    def poll(self, snapshot: Snapshot, delta: Delta, sequence: int, now: float) -> None:
        self.shown = self.showing.follow(snapshot, delta, sequence, now)
        self._polls.publish(self.shown)
        self.traffic_needs_changed()

    def relabel(self, name_of: NameOf | None) -> None:
        """Peers named by `name_of` from now on (None: as numbers); every row again."""
        self.showing.name_of = name_of
        self._relabel(None)

    def named(self, peers: frozenset[str]) -> None:
        """These peers got a name: their rows again."""
        self._relabel(peers)

    def report(self, report: HealthReport) -> None:
        self.health = report
        self._reports.publish(report)

    def report_traffic(self, report: TrafficReport) -> None:
        self.traffic = report
        self._traffic.publish(report)

    def poll_failed(self, event: PollFailed) -> None:
        self._failures.publish(event)

    def _relabel(self, peers: frozenset[str] | None) -> None:
        relabel = self.showing.relabel(peers)
        if relabel is None or self.shown is None:
            return
        self.shown = replace(self.shown, context=relabel.context)
        self._relabels.publish(relabel)

    def _guarded(self, node: DOMNode, handler: Handler[T], what: str) -> Handler[T]:
        where = f"showing {what} in {type(node).__name__}"

        def guarded(data: T) -> None:
            try:
                handler(data)
            except Exception as exc:
                survived(where, exc, self._on_failure)

        return guarded

    def _after_first_frame(self, node: DOMNode, handler: Handler[Shown]) -> Handler[Shown]:
        def deliver(shown: Shown) -> None:
            if shown.first:
                self._app.call_after_refresh(later, shown.sequence)
            else:
                handler(shown)

        def later(sequence: int) -> None:
            shown = self.shown
            if shown is not None and shown.sequence == sequence and node.is_attached:
                handler(shown)

        return deliver
