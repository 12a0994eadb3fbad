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
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from portscope.analysis.levels import Level, Thresholds, percent_of
from portscope.model import TIME_WAIT, Family, Proto, Snapshot

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


def pinned_ports(snapshot: Snapshot) -> dict[Proto, frozenset[int]]:
    """Ports inside the usable range that connect() cannot borrow, per protocol."""
    rng = snapshot.ephemeral_range
    tcp = {s.local_port for s in snapshot.listeners if s.proto == "tcp"}
    udp = {s.local_port for s in snapshot.sockets if s.proto == "udp"}
    return {
        "tcp": frozenset(p for p in tcp if p in rng),
        "udp": frozenset(p for p in udp if p in rng),
    }


@lru_cache(maxsize=4096)
def tw_reusable(tw_reuse: int | None, remote_address: str) -> bool:
    """Whether tcp_tw_reuse lets connect() take over a TIME_WAIT tuple to this peer."""
    if tw_reuse == TW_REUSE_ALWAYS:
        return True
    if tw_reuse != TW_REUSE_LOOPBACK:
        return False
    address = ipaddress.ip_address(remote_address.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


DestinationKey = tuple[Proto, Family, str, str, int]


@dataclass(frozen=True, slots=True)
class Ranking:
    """Every destination's figures, most pressed first, before any record is built.

    Building 20,000 records a poll costs more than the counting; a view that shows
    the top few asks `pressures(limit)` for just those.
    """

    ranked: list[tuple[float, int, DestinationKey, int]]
    time_wait: dict[DestinationKey, int]
    tw_reuse: int | None

    def __len__(self) -> int:
        return len(self.ranked)

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


def rank_destinations(snapshot: Snapshot) -> Ranking:
    """Count ephemeral ports held per destination and rank them by pressure."""
    rng = snapshot.ephemeral_range
    listening = snapshot.listening_ports
    ports: dict[DestinationKey, set[int]] = defaultdict(set)
    time_wait: dict[DestinationKey, set[int]] = defaultdict(set)
    for sock in snapshot.connections:
        port = sock.local_port
        if sock.remote_port is None or port not in rng or (sock.proto, port) in listening:
            continue
        key = (sock.proto, sock.family, sock.local_address, sock.remote_address, sock.remote_port)
        ports[key].add(port)
        if sock.state == TIME_WAIT:
            time_wait[key].add(port)
    pinned = pinned_ports(snapshot)
    pinned_count = {proto: len(held) for proto, held in pinned.items()}
    usable = rng.usable
    ranked = []
    for key, own in ports.items():
        proto = key[0]
        # Pinned ports this destination itself holds are in use, not lost to it.
        budget = usable - pinned_count[proto] + len(pinned[proto] & own)
        ranked.append((-percent_of(len(own), budget), -len(own), key, budget))
    ranked.sort()
    counts = {key: len(held) for key, held in time_wait.items()}
    return Ranking(ranked, counts, snapshot.totals.tcp_tw_reuse)


def destination_pressure(
    snapshot: Snapshot, thresholds: Thresholds | None = None, limit: int | None = None
) -> list[DestinationPressure]:
    """Destinations with ephemeral ports in use, highest pressure first (the top `limit`)."""
    return rank_destinations(snapshot).pressures(thresholds or Thresholds(), limit)
