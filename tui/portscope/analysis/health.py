"""One health verdict per poll: pressure, accept queues, CLOSE_WAIT trends, TIME_WAIT.

`HealthTracker` is what the dashboard subscribes to the shared Poller and what
`portscope check` feeds by hand; both get the same `HealthReport`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from portscope.analysis.closewait import CloseWaitHistory, CloseWaitTrend
from portscope.analysis.counters import (
    ConntrackFill,
    CounterReport,
    CounterTracker,
    ListenDrops,
    conntrack_fill,
    listen_drops,
)
from portscope.analysis.levels import SEVERITY, Level, Thresholds, worst
from portscope.analysis.pressure import DestinationPressure, PressureTally
from portscope.analysis.queues import AcceptQueue, accept_queues
from portscope.analysis.tally import Tally
from portscope.delta import Delta
from portscope.events import PollEvent, PollUpdate
from portscope.model import CLOSE_WAIT, TIME_WAIT, Snapshot, Socket, SocketKey, SocketTotals

Finding = DestinationPressure | AcceptQueue | CloseWaitTrend | ListenDrops | ConntrackFill


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every health figure for one poll; `polls` is how many polls the trends span.

    `pressure` holds the most pressed destinations (all of them unless the tracker was
    given a limit); `destinations` counts every destination with ports in use.
    `counters` is what the kernel's counters did since the previous poll; from them,
    `listen_drops` (None on the first poll) and `conntrack` (None without conntrack).
    """

    taken_at: float
    polls: int
    thresholds: Thresholds
    pressure: tuple[DestinationPressure, ...]
    destinations: int
    accept_queues: tuple[AcceptQueue, ...]
    close_wait: tuple[CloseWaitTrend, ...]
    time_wait: int
    totals: SocketTotals
    counters: CounterReport = field(default_factory=CounterReport)
    listen_drops: ListenDrops | None = None
    conntrack: ConntrackFill | None = None
    places: Mapping[int, str] = field(default_factory=dict)
    """Namespace names by inode when the poll read more than one namespace, so that
    each problem can say where it is; empty otherwise (nothing to tell apart)."""

    def place_of(self, finding: object) -> str | None:
        """The name of the namespace a finding is in; None when there is only one
        namespace, or for the kernel counters' findings (the host's)."""
        if isinstance(finding, DestinationPressure):
            netns = finding.destination.netns
        elif isinstance(finding, AcceptQueue):
            netns = finding.listener.netns
        elif isinstance(finding, CloseWaitTrend):
            netns = finding.netns
        else:
            return None
        return self.places.get(netns)

    @property
    def level(self) -> Level:
        return worst(f.level for f in self.problems)

    @property
    def problems(self) -> tuple[Finding, ...]:
        """Findings at warning or critical, critical first."""
        kernel = (f for f in (self.listen_drops, self.conntrack) if f is not None)
        everything = (*self.pressure, *self.accept_queues, *self.close_wait, *kernel)
        found: list[Finding] = [f for f in everything if f.level != "ok"]
        found.sort(key=lambda f: -SEVERITY[f.level])
        return tuple(found)

    @property
    def top_pressure(self) -> DestinationPressure | None:
        """The most pressed destination: what a header gauge shows."""
        return self.pressure[0] if self.pressure else None


class WaitStates(Tally):
    """The connections in TIME_WAIT (a count) and in CLOSE_WAIT (the sockets)."""

    def _clear(self) -> None:
        self.time_wait = 0
        self._close_wait: dict[SocketKey, Socket] = {}

    @property
    def close_wait(self) -> Iterable[Socket]:
        return self._close_wait.values()

    def _count(self, sockets: Iterable[Socket], sign: int) -> None:
        for sock in sockets:
            state = sock.state
            if state == TIME_WAIT:
                self.time_wait += sign
            elif state == CLOSE_WAIT:
                if sign > 0:
                    self._close_wait[sock.key] = sock
                else:
                    del self._close_wait[sock.key]


class HealthTracker:
    """Turns a stream of snapshots into HealthReports, remembering `depth` polls of trend.

    `pressure_limit` keeps only that many of the most pressed destinations in each
    report: a view that shows a screenful need not build 20,000 records a poll.
    With `follow_deltas`, `update` takes each poll's Delta and the counts follow it
    instead of recounting every socket (they are then counted by socket identity).
    """

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        depth: int = 10,
        pressure_limit: int | None = None,
        *,
        follow_deltas: bool = False,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.pressure_limit = pressure_limit
        self.follow_deltas = follow_deltas
        self._close_wait = CloseWaitHistory(depth)
        self._counters = CounterTracker()
        self._tallies: tuple[PressureTally, WaitStates] | None = None
        self.latest: HealthReport | None = None

    def update(self, snapshot: Snapshot, delta: Delta | None = None) -> HealthReport:
        """Analyse one poll; call once per poll, in order. `delta` (used only with
        `follow_deltas`) must lead from the previous poll given here to this one."""
        if delta is None or self._tallies is None or not self.follow_deltas:
            by_key = self.follow_deltas
            self._tallies = (
                PressureTally(snapshot, by_key=by_key),
                WaitStates(snapshot, by_key=by_key),
            )
        else:
            for tally in self._tallies:
                tally.follow(snapshot, delta)
        pressure, states = self._tallies
        trends = self._close_wait.update(states.close_wait, self.thresholds)
        ranking = pressure.ranking(self.pressure_limit)
        counters = self._counters.update(snapshot.counters, snapshot.taken_at)
        self.latest = HealthReport(
            taken_at=snapshot.taken_at,
            polls=len(self._close_wait),
            thresholds=self.thresholds,
            pressure=tuple(ranking.pressures(self.thresholds)),
            destinations=len(ranking),
            accept_queues=tuple(accept_queues(snapshot, self.thresholds)),
            close_wait=tuple(trends),
            time_wait=states.time_wait,
            totals=snapshot.totals,
            counters=counters,
            listen_drops=listen_drops(counters, self.thresholds),
            conntrack=conntrack_fill(snapshot.counters, self.thresholds),
            places=namespace_places(snapshot),
        )
        return self.latest

    def on_poll(self, event: PollEvent) -> None:
        """A Poller subscriber: successful polls update `latest`, failures are ignored."""
        if isinstance(event, PollUpdate):
            self.update(event.snapshot)


def namespace_places(snapshot: Snapshot) -> dict[int, str]:
    """`HealthReport.places`: names by inode, when the poll has sockets of more than
    one namespace."""
    read = [ns for ns in snapshot.namespaces if ns.sockets]
    return {ns.inode: ns.name for ns in snapshot.namespaces} if len(read) > 1 else {}
