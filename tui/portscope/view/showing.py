"""The poll on screen: what every pane and screen is handed, each poll and in between.

Polls coalesce on their way to the screen (a newer one replaces one still queued), so
the poll shown may not be the one after the poll shown before it: its Delta is then
taken afresh between the two, so every pane follows what it last showed. The port
counts and first sightings follow each Delta (`PortUse`, `Arrivals`). No textual here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from portscope.analysis import Thresholds
from portscope.delta import Delta
from portscope.model import Snapshot
from portscope.session import SshSession
from portscope.view.arrivals import Arrivals
from portscope.view.port_use import PortUse
from portscope.view.rows import NameOf, RowContext


@dataclass(frozen=True, slots=True)
class Shown:
    """One poll as the dashboard shows it: what its rows need (`context`: the snapshot,
    peers per port, first sightings, names), the Delta from the poll shown before it,
    and the ephemeral ports lent out (`PortUse.lent`; in each namespace,
    `PortUse.lent_by_netns`, each against its own range)."""

    context: RowContext
    delta: Delta
    lent: int
    lent_by_netns: Mapping[int, int]
    sequence: int
    first: bool
    """The dashboard's first poll: nothing was on screen before it."""

    @property
    def snapshot(self) -> Snapshot:
        return self.context.snapshot


@dataclass(frozen=True, slots=True)
class Relabel:
    """The shown poll's rows built again, as names or settings changed: those whose peer
    is in `peers`, or every row."""

    context: RowContext
    peers: frozenset[str] | None = None


class Showing:
    """Follows each poll the dashboard is handed into the `Shown` its panes are given.

    `name_of` is how rows name a peer (None: addresses as numbers)."""

    def __init__(
        self, session: SshSession | None = None, thresholds: Thresholds | None = None
    ) -> None:
        self.session = session
        self.thresholds = thresholds
        self.name_of: NameOf | None = None
        self._followed: tuple[PortUse, Arrivals] | None = None
        self.sequence = 0
        """The poller's number of the poll shown."""

    def follow(self, snapshot: Snapshot, delta: Delta, sequence: int, now: float) -> Shown:
        """`snapshot` shown next; `delta` is from the poller's previous poll, which a
        skipped (coalesced) poll makes stale."""
        followed = self._followed
        first = followed is None
        if followed is None:
            followed = self._followed = PortUse(snapshot), Arrivals(now)
        else:
            port_use, arrivals = followed
            if sequence != self.sequence + 1:
                delta = Delta.between(port_use.snapshot, snapshot)
            port_use.follow(snapshot, delta)
            arrivals.follow(delta, now)
        self.sequence = sequence
        port_use = followed[0]
        context = self._context(*followed)
        return Shown(context, delta, port_use.lent, port_use.lent_by_netns(), sequence, first)

    def relabel(self, peers: frozenset[str] | None = None) -> Relabel | None:
        """The shown poll's rows again with the current `name_of`; None before any poll."""
        if self._followed is None:
            return None
        return Relabel(self._context(*self._followed), peers)

    def _context(self, port_use: PortUse, arrivals: Arrivals) -> RowContext:
        return RowContext(
            port_use.snapshot,
            port_use.peers(),
            arrivals,
            self.session,
            self.name_of,
            self.thresholds,
        )
