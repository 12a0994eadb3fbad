"""One health verdict per poll: pressure, accept queues, CLOSE_WAIT trends, TIME_WAIT.

`HealthTracker` is what the dashboard subscribes to the shared Poller and what
`portscope check` feeds by hand; both get the same `HealthReport`.
"""

from __future__ import annotations

from dataclasses import dataclass

from portscope.analysis.closewait import CloseWaitHistory, CloseWaitTrend
from portscope.analysis.levels import SEVERITY, Level, Thresholds, worst
from portscope.analysis.pressure import DestinationPressure, rank_destinations
from portscope.analysis.queues import AcceptQueue, accept_queues
from portscope.model import TIME_WAIT, Snapshot, SocketTotals
from portscope.poller import PollEvent, PollUpdate

Finding = DestinationPressure | AcceptQueue | CloseWaitTrend


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every health figure for one poll; `polls` is how many polls the trends span.

    `pressure` holds the most pressed destinations (all of them unless the tracker was
    given a limit); `destinations` counts every destination with ports in use.
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

    @property
    def level(self) -> Level:
        return worst(f.level for f in self.problems)

    @property
    def problems(self) -> tuple[Finding, ...]:
        """Findings at warning or critical, critical first."""
        found: list[Finding] = [
            f for f in (*self.pressure, *self.accept_queues, *self.close_wait) if f.level != "ok"
        ]
        found.sort(key=lambda f: -SEVERITY[f.level])
        return tuple(found)

    @property
    def top_pressure(self) -> DestinationPressure | None:
        """The most pressed destination: what a header gauge shows."""
        return self.pressure[0] if self.pressure else None


class HealthTracker:
    """Turns a stream of snapshots into HealthReports, remembering `depth` polls of trend.

    `pressure_limit` keeps only that many of the most pressed destinations in each
    report: a view that shows a screenful need not build 20,000 records a poll.
    """

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        depth: int = 10,
        pressure_limit: int | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.pressure_limit = pressure_limit
        self._close_wait = CloseWaitHistory(depth)
        self.latest: HealthReport | None = None

    def update(self, snapshot: Snapshot) -> HealthReport:
        """Analyse one poll; call once per poll, in order."""
        trends = self._close_wait.update(snapshot, self.thresholds)
        ranking = rank_destinations(snapshot)
        self.latest = HealthReport(
            taken_at=snapshot.taken_at,
            polls=len(self._close_wait),
            thresholds=self.thresholds,
            pressure=tuple(ranking.pressures(self.thresholds, self.pressure_limit)),
            destinations=len(ranking),
            accept_queues=tuple(accept_queues(snapshot, self.thresholds)),
            close_wait=tuple(trends),
            time_wait=sum(1 for s in snapshot.connections if s.state == TIME_WAIT),
            totals=snapshot.totals,
        )
        return self.latest

    def on_poll(self, event: PollEvent) -> None:
        """A Poller subscriber: successful polls update `latest`, failures are ignored."""
        if isinstance(event, PollUpdate):
            self.update(event.snapshot)
