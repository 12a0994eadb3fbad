"""CLOSE_WAIT per process, and whether it keeps growing across polls.

CLOSE_WAIT means the peer has closed and this side never called close(): a count that
rises poll after poll is the classic socket leak. Trends need memory, so a small
bounded history of per-process counts is kept, one entry per poll. A process's sockets
in two network namespaces (rare: a process that moved) are two trends.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from portscope.analysis.levels import Level, Thresholds
from portscope.model import Owner, Socket

ProcessKey = tuple[int, float | None] | None
"""(pid, create_time) of the holder, so a reused pid starts afresh; None: owner hidden."""
TrendKey = tuple[ProcessKey, int]
"""A process and the network namespace (inode) of its CLOSE_WAIT sockets."""


@dataclass(frozen=True, slots=True)
class CloseWaitTrend:
    """One process's CLOSE_WAIT count in each remembered poll, oldest first.

    `growing`: the count rose since the previous poll, by at least the threshold's
    `close_wait_growth`, above every earlier count remembered; a steady or
    recovering process is not flagged.
    """

    owner: Owner | None
    counts: tuple[int, ...]
    growing: bool
    level: Level
    netns: int = 0
    """The namespace the sockets are in (see `Socket.netns`)."""

    @property
    def count(self) -> int:
        return self.counts[-1]

    @property
    def pid(self) -> int | None:
        return self.owner.pid if self.owner else None


def process_key(owner: Owner | None) -> ProcessKey:
    return (owner.pid, owner.create_time) if owner else None


def is_growing(counts: tuple[int, ...], by: int) -> bool:
    return len(counts) >= 2 and counts[-1] - max(counts[:-1]) >= by


def trend_level(count: int, growing: bool, thresholds: Thresholds) -> Level:
    many = count >= thresholds.close_wait_critical
    if growing and many:
        return "critical"
    return "warning" if growing or many else "ok"


class CloseWaitHistory:
    """The last `depth` polls' CLOSE_WAIT counts per process; memory is depth x processes."""

    def __init__(self, depth: int = 10) -> None:
        if depth < 2:
            raise ValueError("a trend needs at least two polls of history")
        self._polls: deque[Counter[TrendKey]] = deque(maxlen=depth)

    def __len__(self) -> int:
        return len(self._polls)

    def update(self, close_wait: Iterable[Socket], thresholds: Thresholds) -> list[CloseWaitTrend]:
        """Record this poll's CLOSE_WAIT sockets; trends for every process holding one
        now, worst first."""
        counts: Counter[TrendKey] = Counter()
        owners: dict[TrendKey, Owner | None] = {}
        for sock in close_wait:
            key = (process_key(sock.owner), sock.netns)
            counts[key] += 1
            owners[key] = sock.owner
        self._polls.append(counts)
        trends = []
        for key, owner in owners.items():
            series = tuple(poll[key] for poll in self._polls)
            growing = is_growing(series, thresholds.close_wait_growth)
            level = trend_level(series[-1], growing, thresholds)
            trends.append(CloseWaitTrend(owner, series, growing, level, key[1]))
        trends.sort(key=lambda t: (-t.growing, -t.count, t.pid or 0))
        return trends
