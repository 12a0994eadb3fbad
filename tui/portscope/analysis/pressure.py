"""Ephemeral port pressure per destination: how close connect() is to EADDRNOTAVAIL.

The kernel needs a local port that makes (proto, local IP, remote IP, remote port)
unique, so each destination has its own budget: the usable ephemeral range minus the
ports that no connect() may borrow. TIME_WAIT sockets still hold their tuple.

Which ports are out of reach ("pinned"), judged from one socket table:
- TCP: a listener's port inside the range. A bind() marks the port as explicitly
  bound and connect() skips it for every destination. A socket that was bound and
  then connected looks exactly like an autobound one in the table, so it is counted
  as an ordinary connection; that is the one case this rule misses.
- UDP: every UDP socket's port inside the range. UDP has no 4-tuple sharing, so a
  port a UDP socket holds is out of reach for all other destinations.
Ports outside the range (a client that bound one explicitly) draw nothing from it.
Connections accepted by a local listener are the server side and are not counted.
Each network namespace has its own ports, range and listeners: a destination is one
namespace's, and a listener pins ports in its own namespace only.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from portscope.addresses import is_loopback
from portscope.analysis.levels import Level, Thresholds, percent_of
from portscope.analysis.tally import Tally, bump, bump_within
from portscope.model import LISTEN, TIME_WAIT, Family, Proto, Snapshot, Socket

TW_REUSE_ALWAYS = 1
TW_REUSE_LOOPBACK = 2


@dataclass(frozen=True, slots=True, order=True)
class Destination:
    """What a source port must be unique for, with the address family it lives in."""

    proto: Proto
    family: Family
    local_address: str
    remote_address: str
    remote_port: int
    netns: int = 0
    """The inode of the network namespace whose ports these are (see `Socket.netns`)."""


@dataclass(frozen=True, slots=True)
class DestinationPressure:
    """How much of one destination's ephemeral budget is in use.

    `in_use` counts local ports from the range held towards this destination, in any
    state including TIME_WAIT; `budget` is how many it could hold in total.
    `time_wait_reusable` says tcp_tw_reuse lets connect() recycle those TIME_WAIT tuples.
    """

    destination: Destination
    in_use: int
    time_wait: int
    budget: int
    percent: float
    level: Level
    time_wait_reusable: bool

    @property
    def free(self) -> int:
        return max(0, self.budget - self.in_use)

    @property
    def time_wait_share(self) -> float:
        """TIME_WAIT as a percentage of the ports in use."""
        return percent_of(self.time_wait, self.in_use)


def pinned_ports(
    snapshot: Snapshot, udp: bool = True, netns: int = 0
) -> dict[Proto, frozenset[int]]:
    """Ports inside namespace `netns`'s usable range that connect() cannot borrow
    there, per protocol (UDP's left empty unless `udp`: finding them takes a pass over
    every socket)."""
    rng = snapshot.range_in(netns)
    tcp = {s.local_port for s in snapshot.listeners if s.proto == "tcp" and s.netns == netns}
    udp_ports = (
        {s.local_port for s in snapshot.sockets if s.proto == "udp" and s.netns == netns}
        if udp
        else ()
    )
    return {
        "tcp": frozenset(p for p in tcp if p in rng),
        "udp": frozenset(p for p in udp_ports if p in rng),
    }


def tcp_pinned(snapshot: Snapshot) -> dict[int, int]:
    """How many TCP ports listeners pin inside the range, per namespace."""
    pinned: dict[int, set[int]] = {}
    for sock in snapshot.listeners:
        if sock.proto == "tcp" and sock.local_port in snapshot.range_in(sock.netns):
            pinned.setdefault(sock.netns, set()).add(sock.local_port)
    return {netns: len(ports) for netns, ports in pinned.items()}


@lru_cache(maxsize=4096)
def tw_reusable(tw_reuse: int | None, remote_address: str) -> bool:
    """Whether tcp_tw_reuse lets connect() take over a TIME_WAIT tuple to this peer."""
    if tw_reuse == TW_REUSE_ALWAYS:
        return True
    if tw_reuse != TW_REUSE_LOOPBACK:
        return False
    return is_loopback(remote_address)


DestinationKey = tuple[Proto, Family, str, str, int, int]
"""A `Destination`'s fields, in order (the namespace last)."""


@dataclass(frozen=True, slots=True)
class Ranking:
    """The most pressed destinations' figures, before any record is built.

    Building 20,000 records a poll costs more than the counting; a view that shows
    the top few asks `pressures(limit)` for just those. `ranked` holds the top
    `limit` the ranking was made for (all when None); `len` counts every destination.
    """

    ranked: list[tuple[float, int, DestinationKey, int]]
    time_wait: dict[DestinationKey, int]
    tw_reuse: int | None
    total: int

    def __len__(self) -> int:
        return self.total

    def pressures(
        self, thresholds: Thresholds, limit: int | None = None
    ) -> list[DestinationPressure]:
        return [
            DestinationPressure(
                destination=Destination(*key),
                in_use=-negative_in_use,
                time_wait=self.time_wait.get(key, 0),
                budget=budget,
                percent=-negative_percent,
                level=thresholds.level(-negative_percent),
                time_wait_reusable=key[0] == "tcp" and tw_reusable(self.tw_reuse, key[3]),
            )
            for negative_percent, negative_in_use, key, budget in self.ranked[:limit]
        ]


class PressureTally(Tally):
    """Ephemeral ports held per destination, and the UDP ports pinned, by reference count.

    The budget rules of the module docstring, restated so that no destination needs its
    ports intersected with the pinned ones: a TCP destination never holds a pinned port
    (a TCP connection on a listener's port is not counted), and every port a UDP
    destination holds is pinned (every UDP port in the range is).
    """

    def _clear(self) -> None:
        self._ports: dict[DestinationKey, dict[int, int]] = {}
        self._time_wait: dict[DestinationKey, dict[int, int]] = {}
        self._udp: dict[tuple[int, int], int] = {}
        """(netns, port) -> UDP sockets on it."""
        self._tcp_pinned = tcp_pinned(self.snapshot)

    def _count(self, sockets: Iterable[Socket], sign: int) -> None:
        snapshot = self.snapshot
        range_in = snapshot.ranges.get
        host_range = snapshot.ephemeral_range
        listening = snapshot.listening_ports
        ports, time_wait, udp = self._ports, self._time_wait, self._udp
        for sock in sockets:
            port, netns = sock.local_port, sock.netns
            if port not in range_in(netns, host_range):
                continue
            proto = sock.proto
            if proto == "udp":
                bump(udp, (netns, port), sign)
            # Listeners draw nothing: a UDP one has no peer, a TCP one is in LISTEN.
            if (
                sock.remote_port is None
                or sock.state == LISTEN
                or (proto, port, netns) in listening
            ):
                continue
            key = (
                proto,
                sock.family,
                sock.local_address,
                sock.remote_address,
                sock.remote_port,
                netns,
            )
            bump_within(ports, key, port, sign)
            if sock.state == TIME_WAIT:
                bump_within(time_wait, key, port, sign)

    def ranking(self, limit: int | None = None) -> Ranking:
        """Destinations most pressed first: the top `limit`, or all of them."""
        snapshot = self.snapshot
        udp_pinned: dict[int, int] = {}
        for netns, _port in self._udp:
            udp_pinned[netns] = udp_pinned.get(netns, 0) + 1
        free: dict[tuple[str, int], int] = {}
        for proto, _f, _l, _r, _p, netns in self._ports:
            if (proto, netns) not in free:
                pinned = (self._tcp_pinned if proto == "tcp" else udp_pinned).get(netns, 0)
                free[proto, netns] = snapshot.range_in(netns).usable - pinned
        entries = (
            (-percent_of(in_use, budget), -in_use, key, budget)
            for key, held in self._ports.items()
            for in_use in (len(held),)
            for budget in (free[key[0], key[5]] + (in_use if key[0] == "udp" else 0),)
        )
        ranked = sorted(entries) if limit is None else heapq.nsmallest(limit, entries)
        waiting = self._time_wait
        counts = {key: len(waiting[key]) for _p, _n, key, _b in ranked if key in waiting}
        return Ranking(ranked, counts, self.snapshot.totals.tcp_tw_reuse, len(self._ports))


def rank_destinations(snapshot: Snapshot, limit: int | None = None) -> Ranking:
    """Count ephemeral ports held per destination and rank them by pressure."""
    return PressureTally(snapshot, by_key=False).ranking(limit)


def destination_pressure(
    snapshot: Snapshot, thresholds: Thresholds | None = None, limit: int | None = None
) -> list[DestinationPressure]:
    """Destinations with ephemeral ports in use, highest pressure first (the top `limit`)."""
    return rank_destinations(snapshot, limit).pressures(thresholds or Thresholds())
