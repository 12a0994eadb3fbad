"""Figures over a snapshot's sockets, kept up to date from each poll's Delta.

At 20,000 sockets with 200 connections/s of churn a poll's Delta holds a few hundred
sockets: following it costs a small fraction of recounting every socket (BENCHMARKS.md,
"Behind the code"). A tally recounts only when it has no usable Delta, or when the
listeners or the ephemeral range changed, since those decide how every socket counts.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import TypeVar

from portscope.delta import Delta
from portscope.model import Snapshot, Socket

K = TypeVar("K")
G = TypeVar("G")


def bump(counts: MutableMapping[K, int], key: K, by: int) -> None:
    """Add `by` to a reference count, dropping keys that reach zero (so `len` counts
    only what is still held)."""
    held = counts.get(key, 0) + by
    if held:
        counts[key] = held
    else:
        del counts[key]


def bump_within(groups: dict[G, dict[K, int]], group: G, key: K, by: int) -> None:
    """`bump` inside one group of reference counts, dropping the group once empty."""
    counts = groups.get(group)
    if counts is None:
        groups[group] = {key: by}
        return
    bump(counts, key, by)
    if not counts:
        del groups[group]


class Tally:
    """Subclasses say how sockets count (`_count`, called with +1 or -1) and how to
    start from nothing (`_clear`).

    `by_key`: count the snapshot's sockets by identity, as Deltas are. A tally that will
    follow Deltas needs that, or a socket the kernel reported twice would be counted
    twice and removed once; a one-off count can skip building the index.
    """

    def __init__(self, snapshot: Snapshot, *, by_key: bool = True) -> None:
        self.snapshot = snapshot
        self._recount(snapshot, by_key)

    def follow(self, snapshot: Snapshot, delta: Delta) -> None:
        """Move to `snapshot`; `delta` must lead from the tally's snapshot to it."""
        old, self.snapshot = self.snapshot, snapshot
        same_frame = (
            old.listening_ports == snapshot.listening_ports
            and old.ephemeral_range == snapshot.ephemeral_range
            and old.ranges == snapshot.ranges
        )
        if not same_frame:
            self._recount(snapshot, True)
            return
        before = old.by_key
        moved = (*delta.changed, *delta.replaced)
        self._count(delta.removed, -1)
        self._count([before[s.key] for s in moved], -1)
        self._count(moved, 1)
        self._count(delta.added, 1)

    def _recount(self, snapshot: Snapshot, by_key: bool) -> None:
        self._clear()
        self._count(snapshot.by_key.values() if by_key else snapshot.sockets, 1)

    def _clear(self) -> None:
        raise NotImplementedError

    def _count(self, sockets: Iterable[Socket], sign: int) -> None:
        raise NotImplementedError
