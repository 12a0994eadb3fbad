"""Traffic per TCP connection, process, destination and network namespace, from the
tcp_info counters each poll brings (`Snapshot.tcp_info`), with a short history of
rates for sparklines. Headless: never imports textual.

    tracker = TrafficTracker()
    report = tracker.update(snapshot)   # every poll, in order, on one thread
    report.connection(sock)             # one connection's totals, rate and flags
    report.top("processes", 10)         # the busiest processes now
    report.sparkline("processes", key)  # a group's rate over the last polls

A rate is the change between two polls of one socket over the time between them: a
connection seen once has totals but no rate yet, and one that took over another's
4-tuple (a new inode: `Socket.continues`) starts a series of its own, so no rate is
ever negative or made of two sockets' counters. A connection that closed between two
polls takes its totals out of its groups and adds nothing to that interval's rate
(what it moved after its last reading was never seen). Group sums follow only the
connections whose counters moved, and when the collector says which those are (it
compares each connection's bytes with its last poll's as it builds the table), an
idle connection costs the tracker nothing (BENCHMARKS.md, "Traffic").
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import add
from typing import Literal, NamedTuple

from portscope.analysis.closewait import ProcessKey
from portscope.analysis.levels import Level, worst
from portscope.analysis.tcp_health import (
    FLAG_LEVEL,
    IDLE,
    UNLIMITED,
    Flag,
    Limits,
    Rate,
    TrafficThresholds,
    counters_went_back,
    explain,
    judge,
    limits_between,
    rate_between,
    standing_flags,
)
from portscope.model import Owner, Snapshot, Socket, TcpInfoTable
from portscope.tcpinfo import TcpInfo, absent_fields, decode

DestinationKey = tuple[str, int]
"""The remote address and port of a connection."""
NamespaceKey = int | None
"""The nsfs inode of a connection's network namespace (`Socket.netns`); None for a
socket that does not say (built without a collector)."""
GroupKind = Literal["processes", "destinations", "namespaces"]
KINDS: tuple[GroupKind, ...] = ("processes", "destinations", "namespaces")
Groups = tuple[ProcessKey, DestinationKey, NamespaceKey]
"""A connection's group of each kind, in the order of KINDS."""
HISTORY = 120
"""Polls of rates kept for sparklines: four minutes at the default 2 s interval."""


def socket_namespace(sock: Socket) -> NamespaceKey:
    return sock.netns or None


class Totals(NamedTuple):
    """What a group's open connections have moved in their lives (`bytes_sent`: what
    the peers acknowledged)."""

    connections: int
    bytes_sent: int
    bytes_received: int
    segments_sent: int
    retransmits: int


Share = tuple[int, int, int, int, int]
"""A change to the fields of Totals."""


def contribution(info: TcpInfo, sign: int = 1) -> Share:
    """One connection's share of its groups' Totals (a field this kernel lacks adds 0:
    the report says which are absent)."""
    return (
        sign,
        sign * (info.bytes_acked or 0),
        sign * (info.bytes_received or 0),
        sign * (info.segs_out or 0),
        sign * (info.total_retrans or 0),
    )


def growth(was: TcpInfo, now: TcpInfo) -> Share:
    """What a connection's counters added to its groups' Totals since `was`."""
    return (
        0,
        (now.bytes_acked or 0) - (was.bytes_acked or 0),
        (now.bytes_received or 0) - (was.bytes_received or 0),
        (now.segs_out or 0) - (was.segs_out or 0),
        (now.total_retrans or 0) - (was.total_retrans or 0),
    )


class Series(NamedTuple):
    """One connection as the tracker follows it: its latest kept bytes, when it was
    first seen and when its counters last moved, and what was judged then."""

    socket: Socket
    raw: bytes
    first_at: float
    moved_at: float
    rate: Rate | None
    """Over the interval that ended at `moved_at`; None when that is `first_at`."""
    limits: Limits | None
    flags: tuple[Flag, ...] | None
    """As judged at `moved_at`; None at a first reading, whose flags (the standing
    ones) are judged when read: most connections are never looked at."""
    groups: Groups


Reading = tuple[TcpInfo, "Rate | None", "Limits | None", tuple[Flag, ...]]
"""A connection in one report: its counters, rate, limits and flags."""


def new_series(*fields: object) -> Series:
    """A Series from its fields in order, without NamedTuple's own constructor (a
    Python function: it doubles the cost of a first poll's 20,000)."""
    return tuple.__new__(Series, fields)


class Grouping:
    """A connection's group of each kind (`Groups`); pure, so a report's reader on
    another thread may ask it too."""

    def __init__(self, namespace_of: Callable[[Socket], NamespaceKey]) -> None:
        self.namespace_of = namespace_of

    def __call__(self, sock: Socket) -> Groups:
        owner = sock.owner
        process = (owner.pid, owner.create_time) if owner is not None else None
        return process, (sock.remote_address or "", sock.remote_port or 0), self.namespace_of(sock)


class FirstReadings(Mapping[int, Series]):
    """A first poll's series, each built when asked for: one poll has totals but no
    rates, so a snapshot nobody follows (`portscope snapshot`) builds none of its
    20,000, and the tracker builds them only when a second poll comes to follow them.
    By id of the table's Socket, as `TrafficReport.series`."""

    def __init__(self, table: TcpInfoTable, taken_at: float, grouping: Grouping) -> None:
        self._table = table
        self._taken_at = taken_at
        self._grouping = grouping
        self._sockets: dict[int, Socket] | None = None

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self) -> Iterator[int]:
        return (id(sock) for sock, _raw in self._table.items())

    def __getitem__(self, key: int) -> Series:
        if self._sockets is None:  # one reader's lookups build it, another's reuse it
            self._sockets = {id(sock): sock for sock, _raw in self._table.items()}
        sock = self._sockets.get(key)
        raw = None if sock is None else self._table.raw(sock)
        if sock is None or raw is None:
            raise KeyError(key)
        return self._one(sock, raw)

    def _one(self, sock: Socket, raw: bytes) -> Series:
        at = self._taken_at
        return new_series(sock, raw, at, at, None, None, None, self._grouping(sock))

    def built(self) -> dict[int, Series]:
        """Every series, as the tracker keeps them once it follows them."""
        return {id(sock): self._one(sock, raw) for sock, raw in self._table.items()}

    def readings(
        self, sockets: Iterable[Socket], thresholds: TrafficThresholds
    ) -> Iterator[Reading | None]:
        """`TrafficReport.reading` of each of `sockets`, straight from the table: a
        first reading is its counters and standing flags, no rate or limits."""
        raw_of = self._table.raw
        for sock in sockets:
            raw = raw_of(sock)
            if raw is None:
                yield None
            else:
                info = decode(raw)
                yield info, None, None, standing_flags(info, thresholds)

    def reading(self, sock: Socket, thresholds: TrafficThresholds) -> Reading | None:
        return next(self.readings((sock,), thresholds))


def first_totals(
    table: TcpInfoTable, grouping: Grouping, owners: dict[ProcessKey, Owner | None]
) -> tuple[dict[Hashable, Totals], ...]:
    """Each group's Totals at a first poll, every connection counted once; the owner of
    each process key goes into `owners`. Shares are summed per group by C (`map(sum,
    zip(...))`), not by a Python add per connection and field."""
    shares: tuple[defaultdict[Hashable, list[Share]], ...] = tuple(defaultdict(list) for _ in KINDS)
    processes, destinations, namespaces = shares
    for sock, raw in table.items():
        process, destination, namespace = grouping(sock)
        share = contribution(decode(raw))
        processes[process].append(share)
        destinations[destination].append(share)
        namespaces[namespace].append(share)
        if process not in owners:
            owners[process] = sock.owner
    return tuple(
        {
            key: tuple.__new__(
                Totals, held[0] if len(held) == 1 else map(sum, zip(*held, strict=True))
            )
            for key, held in kind.items()
        }
        for kind in shares
    )


class Sample(NamedTuple):
    """One interval's rates: all connections together, and each group that moved
    (one mapping per kind, in the order of KINDS; a group not in it stood still)."""

    taken_at: float
    total: Rate
    rates: tuple[Mapping[Hashable, Rate], ...]


@dataclass(frozen=True, slots=True)
class ConnectionTraffic:
    """One connection in one report: its counters, its rate over the last interval
    (None when first seen), what limited it and its flags."""

    socket: Socket
    info: TcpInfo
    rate: Rate | None
    limits: Limits | None
    flags: tuple[Flag, ...]
    first_seen: float

    @property
    def level(self) -> Level:
        return worst(FLAG_LEVEL[flag] for flag in self.flags)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Each flag explained in a sentence, for the details."""
        return tuple(explain(flag, self.info, self.rate, self.limits) for flag in self.flags)


@dataclass(frozen=True, slots=True)
class GroupTraffic:
    """One process, destination or namespace: its totals, its rate over the last
    interval (None on a first poll) and, for a process, its owner as last seen."""

    kind: GroupKind
    key: Hashable
    totals: Totals
    rate: Rate | None
    owner: Owner | None = None


def single_reading(
    sock: Socket, snapshot: Snapshot, thresholds: TrafficThresholds | None = None
) -> Reading | None:
    """`sock` as one poll alone shows it, without a tracker: counters and the flags one
    reading can show, no rate. None when it has no counters (`counters_missing`)."""
    info = snapshot.tcp_info.get(sock) if snapshot.tcp_info is not None else None
    if info is None:
        return None
    return info, None, None, standing_flags(info, thresholds or TrafficThresholds())


def why_unavailable(snapshot: Snapshot) -> str | None:
    """Why a snapshot carries no tcp_info at all; None when it does."""
    if snapshot.tcp_info is not None:
        return None
    if snapshot.source == "netlink":
        return "tcp_info was not asked for"
    return f"the {snapshot.source or 'unknown'} source has no per-connection counters"


def counters_missing(sock: Socket, snapshot: Snapshot) -> str | None:
    """Why a socket of `snapshot` has no traffic counters; None when it has them."""
    if sock.proto == "udp":
        return "UDP: the kernel keeps no per-socket byte counters"
    if sock.is_listener:
        return "a listener moves no data"
    if snapshot.tcp_info is None:
        return why_unavailable(snapshot)
    if snapshot.tcp_info.raw(sock) is None:
        return f"{sock.state_label}: the kernel keeps no tcp_info for it"
    return None


@dataclass(frozen=True, slots=True)
class TrafficReport:
    """Every traffic figure of one poll. Immutable: the tracker builds the next one
    anew, so a reader on another thread needs no lock.

    `interval` is the time since the poll before (None on the first, when nothing has
    a rate yet); `absent` names the tcp_info fields this kernel lacks (their figures
    are unknown, not 0); `unavailable` says why there are no counters at all.
    """

    taken_at: float
    interval: float | None
    snapshot: Snapshot
    thresholds: TrafficThresholds
    series: Mapping[int, Series]
    """By id of the snapshot's Socket (each Series holds its Socket)."""
    totals: tuple[Mapping[Hashable, Totals], ...]
    owners: Mapping[ProcessKey, Owner | None]
    history: tuple[Sample, ...]
    absent: frozenset[str] = frozenset()
    unavailable: str | None = None

    def _series_of(self, sock: Socket) -> Series | None:
        """`sock`'s series: by object, or by key for a socket of a later snapshot that
        continues one of this report's."""
        found = self.series.get(id(sock))
        if found is not None and found.socket is sock:
            return found
        if not self.series:
            return None
        mine = self.snapshot.by_key.get(sock.key)
        if mine is None or not sock.continues(mine):
            return None
        return self.series.get(id(mine))

    def rate(self, sock: Socket) -> Rate | None:
        """`sock`'s rate over the last interval (what a column sorts by); None when it
        has no counters or was first seen in this poll."""
        series = self._series_of(sock)
        if series is None:
            return None
        if series.moved_at == self.taken_at:
            return series.rate
        return None if "bytes_acked" in self.absent else IDLE

    def reading(self, sock: Socket) -> Reading | None:
        """The counters, rate, limits and flags of `sock`, one of this report's own
        snapshot's sockets, without building a record (a JSON document reads 20,000)."""
        if isinstance(self.series, FirstReadings):
            return self.series.reading(sock, self.thresholds)
        series = self.series.get(id(sock))
        return None if series is None or series.socket is not sock else self._read(series)

    def readings(self, sockets: Iterable[Socket]) -> Iterator[Reading | None]:
        """`reading` of each of `sockets`, in order, for a writer of every row: a first
        poll's come from the table without building its series."""
        if isinstance(self.series, FirstReadings):
            return self.series.readings(sockets, self.thresholds)
        return map(self.reading, sockets)

    def _read(self, series: Series) -> Reading:
        info = decode(series.raw)
        if series.moved_at != self.taken_at:  # seen before, idle since: nothing moved
            rate = None if "bytes_acked" in self.absent else IDLE
            limits = None if "busy_time" in self.absent else UNLIMITED
            return info, rate, limits, standing_flags(info, self.thresholds)
        if series.flags is None:  # a first reading
            return info, None, None, standing_flags(info, self.thresholds)
        return info, series.rate, series.limits, series.flags

    def connection(self, sock: Socket) -> ConnectionTraffic | None:
        series = self._series_of(sock)
        if series is None:
            return None
        return ConnectionTraffic(series.socket, *self._read(series), series.first_at)

    def flagged(self) -> list[ConnectionTraffic]:
        """Connections with a flag above ok, in no particular order."""
        found = (self.connection(series.socket) for series in self.series.values())
        return [c for c in found if c is not None and c.level != "ok"]

    @property
    def total_rate(self) -> Rate | None:
        """Every connection together over the last interval: the header's throughput."""
        last = self._last_sample()
        return last.total if last is not None else None

    def _last_sample(self) -> Sample | None:
        last = self.history[-1] if self.history else None
        return last if last is not None and last.taken_at == self.taken_at else None

    def rates(self, kind: GroupKind) -> Mapping[Hashable, Rate]:
        """The last interval's rate of every group of `kind` that moved (empty on a
        first poll)."""
        last = self._last_sample()
        return last.rates[KINDS.index(kind)] if last is not None else {}

    def group(self, kind: GroupKind, key: Hashable) -> GroupTraffic | None:
        index = KINDS.index(kind)
        totals = self.totals[index].get(key)
        if totals is None:
            return None
        last = self._last_sample()
        rate = None if last is None else last.rates[index].get(key, IDLE)
        owner = self.owners.get(key) if kind == "processes" else None
        return GroupTraffic(kind, key, totals, rate, owner)

    def ranked(self, kind: GroupKind, limit: int | None = None) -> list[Hashable]:
        """The keys of the groups of `kind` busiest first (by rate, then by bytes
        moved): all of them, or the first `limit`."""
        index = KINDS.index(kind)
        rates = self.rates(kind)
        ranked = (
            (-rates.get(key, IDLE).total, -(totals.bytes_sent + totals.bytes_received), n, key)
            for n, (key, totals) in enumerate(self.totals[index].items())
        )
        chosen = sorted(ranked) if limit is None else heapq.nsmallest(limit, ranked)
        return [key for *_order, key in chosen]

    def top(self, kind: GroupKind, limit: int | None = None) -> list[GroupTraffic]:
        """Groups of `kind` busiest first (`ranked`)."""
        index = KINDS.index(kind)
        last = self._last_sample()
        rates = last.rates[index] if last is not None else {}
        totals, owners = self.totals[index], self.owners if kind == "processes" else {}
        return [
            GroupTraffic(
                kind,
                key,
                totals[key],
                None if last is None else rates.get(key, IDLE),
                owners.get(key),
            )
            for key in self.ranked(kind, limit)
        ]

    def sparkline(self, kind: GroupKind, key: Hashable) -> tuple[float, ...]:
        """The group's bytes a second (received and sent) in each remembered interval,
        oldest first; 0 where it stood still or was not there."""
        index = KINDS.index(kind)
        return tuple(sample.rates[index].get(key, IDLE).total for sample in self.history)


def absent_of(table: TcpInfoTable) -> frozenset[str]:
    """The fields this kernel lacks, from the length of any connection's kept bytes
    (one kernel writes them all alike)."""
    for _sock, raw in table.items():
        return absent_fields(len(raw))
    return frozenset()


class Changes:
    """What one poll moved: each group's change of Totals, and its rate (the sum of
    its connections' rates, as they share one interval)."""

    def __init__(self) -> None:
        self.shares: tuple[dict[Hashable, list[Share]], ...] = tuple({} for _ in KINDS)
        self.rates: tuple[dict[Hashable, tuple[float, ...]], ...] = tuple({} for _ in KINDS)
        self.total: tuple[float, ...] = IDLE

    def count(self, groups: Groups, share: Share) -> None:
        """One connection's change to each of its groups' Totals, summed in `change`
        (a first poll counts 20,000: the sums are C's, not a Python add each)."""
        for shares, key in zip(self.shares, groups, strict=True):
            held = shares.get(key)
            if held is None:
                shares[key] = [share]
            else:
                held.append(share)

    def change(self, index: int) -> Iterator[tuple[Hashable, Share]]:
        """Each group of kind KINDS[index] and what its connections changed together."""
        for key, shares in self.shares[index].items():
            yield key, shares[0] if len(shares) == 1 else tuple(map(sum, zip(*shares, strict=True)))

    def moved(self, groups: Groups, rate: Rate) -> None:
        for rates, key in zip(self.rates, groups, strict=True):
            held = rates.get(key)
            rates[key] = rate if held is None else tuple(map(add, held, rate))
        self.total = tuple(map(add, self.total, rate))


class TrafficTracker:
    """Turns a stream of snapshots into TrafficReports; call `update` once per poll,
    in order (a gap just makes one longer interval).

    `namespace_of` names a connection's namespace for the per-namespace sums; by
    default the inode its socket carries.
    """

    def __init__(
        self,
        thresholds: TrafficThresholds | None = None,
        depth: int = HISTORY,
        namespace_of: Callable[[Socket], NamespaceKey] = socket_namespace,
    ) -> None:
        self.thresholds = thresholds or TrafficThresholds()
        self._grouping = Grouping(namespace_of)
        self._history: deque[Sample] = deque(maxlen=depth)
        self._series: dict[int, Series] | FirstReadings = {}
        self._totals: tuple[dict[Hashable, Totals], ...] = tuple({} for _ in KINDS)
        self._owners: dict[ProcessKey, Owner | None] = {}
        self._snapshot: Snapshot | None = None
        self.latest: TrafficReport | None = None

    @property
    def namespace_of(self) -> Callable[[Socket], NamespaceKey]:
        return self._grouping.namespace_of

    def _forget(self) -> None:
        self._history.clear()
        self._series = {}
        self._totals = tuple({} for _ in KINDS)
        self._owners.clear()
        self._snapshot = None

    def update(self, snapshot: Snapshot) -> TrafficReport:
        """Follow every connection of `snapshot` on from the last poll given here."""
        table = snapshot.tcp_info
        last = self._snapshot
        interval = snapshot.taken_at - last.taken_at if last is not None else None
        if table is None or interval is None or interval <= 0:
            self._forget()  # no counters, a first poll, or a clock that went back
            interval = None
        if table is None:
            self.latest = self._report(snapshot, None, frozenset(), why_unavailable(snapshot))
            return self.latest
        if interval is None:
            return self._first(snapshot, table)
        if isinstance(self._series, FirstReadings):
            self._series = self._series.built()  # a second poll follows them: now they are needed
        changes = Changes()
        series = self._followed(snapshot, table, interval, changes)
        if series is None:
            changes = Changes()
            series = self._compared(snapshot, table, interval, changes)
        self._apply(changes)
        self._history.append(
            Sample(
                snapshot.taken_at,
                Rate(*changes.total),
                tuple({key: Rate(*rate) for key, rate in rates.items()} for rates in changes.rates),
            )
        )
        self._series, self._snapshot = series, snapshot
        self.latest = self._report(snapshot, interval, absent_of(table), None)
        return self.latest

    def _first(self, snapshot: Snapshot, table: TcpInfoTable) -> TrafficReport:
        """A first poll: totals, and series left for a second poll to build."""
        self._totals = first_totals(table, self._grouping, self._owners)
        self._series = FirstReadings(table, snapshot.taken_at, self._grouping)
        self._snapshot = snapshot
        self.latest = self._report(snapshot, None, absent_of(table), None)
        return self.latest

    def _followed(
        self, snapshot: Snapshot, table: TcpInfoTable, interval: float, changes: Changes
    ) -> dict[int, Series] | None:
        """The series after a poll, from only the connections that moved, when the
        collector says which did since the last poll followed (`TcpInfoTable.changed`,
        and `Snapshot.moved` for the Sockets it dropped); None without that account, or
        when it does not add up."""
        last = self._snapshot
        if last is None or not self._series:
            return None
        changed, moved = table.changed_since(last.token), snapshot.moved
        if changed is None or moved is None or moved.since is not last.token:
            return None
        series = dict(self._series)  # the last report holds the tracker's own
        for sock in changed:
            raw = table.raw(sock)
            if raw is None:
                return None
            found = series.pop(id(sock), None) or self._predecessor(sock, series)
            series[id(sock)] = self._follow(found, sock, raw, snapshot.taken_at, interval, changes)
        for sock in moved.gone:
            ended = series.pop(id(sock), None)
            if ended is not None:
                changes.count(ended.groups, contribution(decode(ended.raw), -1))
        return series if len(series) == len(table) else None

    def _compared(
        self, snapshot: Snapshot, table: TcpInfoTable, interval: float, changes: Changes
    ) -> dict[int, Series]:
        """The series after a poll, every connection's bytes compared with its last."""
        previous = dict(self._series)
        series: dict[int, Series] = {}
        for sock, raw in table.items():
            found = previous.pop(id(sock), None)  # the same object: the same socket
            if found is not None and found.raw == raw:
                series[id(sock)] = found
                continue
            if found is None:
                found = self._predecessor(sock, previous)
            series[id(sock)] = self._follow(found, sock, raw, snapshot.taken_at, interval, changes)
        for ended in previous.values():
            changes.count(ended.groups, contribution(decode(ended.raw), -1))
        return series

    def _predecessor(self, sock: Socket, series: dict[int, Series]) -> Series | None:
        """The series (taken out of `series`) of the last poll's socket that `sock`, a
        new object, continues: the same key, the same socket (`Socket.continues`)."""
        last = self._snapshot
        if last is None or not series:
            return None
        was = last.by_key.get(sock.key)
        if was is None or not sock.continues(was):
            return None
        return series.pop(id(was), None)

    def _follow(
        self,
        found: Series | None,
        sock: Socket,
        raw: bytes,
        at: float,
        interval: float,
        changes: Changes,
    ) -> Series:
        """`sock`'s series after a reading whose bytes differ from `found`'s (None: a
        connection new to the tracker)."""
        info = decode(raw)
        groups = self._groups(sock)
        if found is not None:
            was = decode(found.raw)
            if not counters_went_back(was, info):
                rate = rate_between(was, info, interval)
                limits = limits_between(was, info, interval)
                if found.groups == groups:
                    changes.count(groups, growth(was, info))
                else:
                    changes.count(found.groups, contribution(was, -1))
                    changes.count(groups, contribution(info))
                if rate is not None:
                    changes.moved(groups, rate)
                flags = judge(info, rate, limits, self.thresholds)
                return new_series(sock, raw, found.first_at, at, rate, limits, flags, groups)
        if found is not None:
            changes.count(found.groups, contribution(decode(found.raw), -1))
        changes.count(groups, contribution(info))
        return new_series(sock, raw, at, at, None, None, None, groups)

    def _groups(self, sock: Socket) -> Groups:
        groups = self._grouping(sock)
        if groups[0] not in self._owners:
            self._owners[groups[0]] = sock.owner
        return groups

    def _apply(self, changes: Changes) -> None:
        for index, totals in enumerate(self._totals):
            for key, change in changes.change(index):
                held = totals.get(key)
                now = Totals(*change) if held is None else Totals(*map(add, held, change))
                if now.connections > 0:
                    totals[key] = now
                else:
                    del totals[key]
        processes = self._totals[0]
        for key in [key for key in self._owners if key not in processes]:
            del self._owners[key]

    def _report(
        self,
        snapshot: Snapshot,
        interval: float | None,
        absent: frozenset[str],
        unavailable: str | None,
    ) -> TrafficReport:
        return TrafficReport(
            taken_at=snapshot.taken_at,
            interval=interval,
            snapshot=snapshot,
            thresholds=self.thresholds,
            series=self._series,
            totals=tuple(dict(totals) for totals in self._totals),
            owners=dict(self._owners),
            history=tuple(self._history),
            absent=absent,
            unavailable=unavailable,
        )
