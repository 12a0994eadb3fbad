"""What the kernel's counters did since the last poll, and the two findings they make:
connections dropped at listeners, and a conntrack table filling up.

A counter only grows, so its meaning is in how much it moved between two polls: a
listen queue that overflowed an hour ago shows in ListenDrops for good, one that
overflows now shows as a rise. A counter that went down was reset (the namespace it
counts was made anew) and has no change to report that poll.
"""

from __future__ import annotations

from dataclasses import dataclass

from portscope.analysis.levels import Level, Thresholds, above, percent_of
from portscope.model import LISTEN_DROPS, LISTEN_OVERFLOWS, WATCHED_COUNTERS, KernelCounters

ALARMS = frozenset(counter.name for counter in WATCHED_COUNTERS if counter.alarm)


@dataclass(frozen=True, slots=True)
class CounterChange:
    """One counter now, and how far it moved since the previous poll (None on the first
    poll, or when it went back: reset)."""

    name: str
    value: int
    delta: int | None
    rate: float | None
    """Per second, over the time between the two polls."""

    @property
    def alarm(self) -> bool:
        return self.name in ALARMS


@dataclass(frozen=True, slots=True)
class CounterReport:
    """Every watched counter the kernel gave this poll, in `WATCHED_COUNTERS` order, and
    the seconds since the previous poll (None on the first)."""

    changes: tuple[CounterChange, ...] = ()
    seconds: float | None = None

    def get(self, name: str) -> CounterChange | None:
        return next((change for change in self.changes if change.name == name), None)

    @property
    def moved(self) -> tuple[CounterChange, ...]:
        """The alarm counters that rose since the previous poll: what a header marks."""
        return tuple(c for c in self.changes if c.alarm and c.delta)


class CounterTracker:
    """Turns each poll's counters into a CounterReport against the previous poll's."""

    def __init__(self) -> None:
        self._last: tuple[KernelCounters, float] | None = None

    def update(self, counters: KernelCounters, taken_at: float) -> CounterReport:
        last, self._last = self._last, (counters, taken_at)
        seconds = None if last is None else taken_at - last[1]
        changes = []
        for counter in WATCHED_COUNTERS:
            value = counters.values.get(counter.name)
            if value is None:
                continue
            before = None if last is None else last[0].values.get(counter.name)
            delta = None if before is None or value < before else value - before
            rate = None if delta is None or not seconds or seconds <= 0 else delta / seconds
            changes.append(CounterChange(counter.name, value, delta, rate))
        return CounterReport(tuple(changes), seconds)


@dataclass(frozen=True, slots=True)
class ListenDrops:
    """Connections the kernel dropped at listeners between two polls `seconds` apart
    (ListenDrops; how many of them because an accept queue was full: ListenOverflows)."""

    dropped: int
    overflows: int | None
    seconds: float
    level: Level


@dataclass(frozen=True, slots=True)
class ConntrackFill:
    """The conntrack table: entries in use of its maximum. A full table drops new
    connections' packets, whatever the sockets look like."""

    count: int
    maximum: int
    percent: float
    level: Level


def listen_drops(report: CounterReport, thresholds: Thresholds) -> ListenDrops | None:
    """The listen drops since the previous poll; None without one to compare with."""
    drops = report.get(LISTEN_DROPS)
    if drops is None or drops.delta is None or report.seconds is None:
        return None
    overflows = report.get(LISTEN_OVERFLOWS)
    level = above(drops.delta, thresholds.listen_drops_warning, thresholds.listen_drops_critical)
    return ListenDrops(drops.delta, overflows.delta if overflows else None, report.seconds, level)


def conntrack_fill(counters: KernelCounters, thresholds: Thresholds) -> ConntrackFill | None:
    """The table's fill, where the nf_conntrack module is loaded and the table has a
    limit (a maximum of 0 is none)."""
    count, maximum = counters.conntrack_count, counters.conntrack_max
    if count is None or not maximum:
        return None
    percent = percent_of(count, maximum)
    level = above(percent, thresholds.conntrack_warning, thresholds.conntrack_critical)
    return ConntrackFill(count, maximum, percent, level)
