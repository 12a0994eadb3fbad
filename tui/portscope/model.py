"""Immutable records that every layer speaks: sockets, owners, snapshots and deltas.

Collectors produce these, the poller diffs them, the CLI serialises them and the
dashboard renders them. Nothing here touches the OS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Proto = Literal["tcp", "udp"]
Family = Literal["ipv4", "ipv6"]

LISTEN = "LISTEN"
TIME_WAIT = "TIME_WAIT"
CLOSE_WAIT = "CLOSE_WAIT"
ESTABLISHED = "ESTABLISHED"

SocketKey = tuple[str, str, str, int, "str | None", "int | None", int]
"""Stable identity of a socket across polls (see `Socket.key`)."""


def proto_label(proto: str, family: str) -> str:
    """`tcp`, `tcp6`, `udp6`: the protocol column as ss and netstat print it."""
    return proto + ("6" if family == "ipv6" else "")


def endpoint(address: str | None, port: int | None) -> str:
    """ip:port, with IPv6 in brackets as ss prints it; '*' for no peer."""
    if address is None:
        return "*"
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass(frozen=True, slots=True)
class Owner:
    """The process that holds a socket; any field may be unknown (None) when not visible."""

    pid: int
    name: str | None = None
    user: str | None = None
    cmdline: tuple[str, ...] | None = None
    create_time: float | None = None


@dataclass(frozen=True, slots=True)
class Socket:
    """One kernel socket as seen in one poll.

    `state` uses psutil's names (ESTABLISHED, TIME_WAIT, LISTEN, ...) and is None for UDP.
    `inode`, `uid` and the queues are known on the Linux fast path and None elsewhere.
    For a LISTEN socket `rx_queue` is the accept-queue length and `tx_queue` the backlog.
    """

    proto: Proto
    family: Family
    local_address: str
    local_port: int
    remote_address: str | None = None
    remote_port: int | None = None
    state: str | None = None
    owner: Owner | None = None
    inode: int | None = None
    uid: int | None = None
    rx_queue: int | None = None
    tx_queue: int | None = None
    _key: SocketKey | None = field(default=None, init=False, repr=False, compare=False)
    """`key`, once asked for: the index, the Delta, every row and timer share one tuple."""

    @property
    def pid(self) -> int | None:
        return self.owner.pid if self.owner else None

    @property
    def state_label(self) -> str:
        """The state as ss shows it; UDP has none, so UNCONN or ESTAB."""
        return self.state or ("UNCONN" if self.is_listener else "ESTAB")

    @property
    def is_listener(self) -> bool:
        """TCP in LISTEN, or UDP bound with no remote peer."""
        if self.proto == "tcp":
            return self.state == LISTEN
        return self.remote_address is None

    @property
    def key(self) -> SocketKey:
        """Identity that survives state changes.

        A TCP connection is unique by its 4-tuple, and keeps it from ESTABLISHED through
        TIME_WAIT (when the kernel drops the inode), so the inode is left out there.
        Listeners and UDP sockets can share an address (SO_REUSEPORT), so the inode
        tells them apart.
        """
        key = self._key
        if key is None:
            connected_tcp = self.proto == "tcp" and self.state != LISTEN
            key = (
                self.proto,
                self.family,
                self.local_address,
                self.local_port,
                self.remote_address,
                self.remote_port,
                0 if connected_tcp else (self.inode or 0),
            )
            object.__setattr__(self, "_key", key)
        return key


@dataclass(frozen=True, slots=True)
class EphemeralRange:
    """The ports this OS hands out for outgoing connections, and where that came from."""

    low: int
    high: int
    reserved: frozenset[int] = frozenset()
    source: str = "IANA default (RFC 6335)"

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high and port not in self.reserved

    @property
    def usable(self) -> int:
        """How many ports the kernel can actually pick from."""
        span = self.high - self.low + 1
        return span - sum(1 for port in self.reserved if self.low <= port <= self.high)

    def reserved_spans(self) -> list[int | str]:
        """Reserved ports folded into runs, as the kernel prints them: [8080, "9000-9010"]."""
        spans: list[int | str] = []
        ports = sorted(self.reserved)
        start = 0
        for i in range(1, len(ports) + 1):
            if i == len(ports) or ports[i] != ports[i - 1] + 1:
                first, last = ports[start], ports[i - 1]
                spans.append(first if first == last else f"{first}-{last}")
                start = i
        return spans


@dataclass(frozen=True, slots=True)
class Interface:
    """A network interface and the addresses on it (IPv6 link-local with its %scope)."""

    name: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gateway:
    """A default route: where traffic for `family` leaves, and through which interface."""

    family: Family
    address: str
    interface: str


@dataclass(frozen=True, slots=True)
class InterfaceTable:
    """This machine's interfaces, so a bind address can be named (`lo`, `eth0`)."""

    interfaces: tuple[Interface, ...] = ()
    gateways: tuple[Gateway, ...] = ()

    def name_for(self, address: str) -> str | None:
        """The interface that owns `address`, or None when no local interface has it."""
        plain = address.split("%", 1)[0]
        if plain.startswith("::ffff:") and "." in plain:
            plain = plain[7:]
        for interface in self.interfaces:
            if any(a.split("%", 1)[0] == plain for a in interface.addresses):
                return interface.name
        return None


@dataclass(frozen=True, slots=True)
class SocketTotals:
    """Kernel-wide counts (/proc/net/sockstat, sockstat6) and the TIME_WAIT reuse switch.

    Cheap to read and independent of the socket table, so they stay right even when
    the table is unreadable. None means the OS did not say.
    """

    tcp_in_use: int | None = None
    tcp6_in_use: int | None = None
    tcp_time_wait: int | None = None
    tcp_orphaned: int | None = None
    udp_in_use: int | None = None
    udp6_in_use: int | None = None
    tcp_tw_reuse: int | None = None


@dataclass(frozen=True, slots=True)
class Moved:
    """What a collector knows changed since the snapshot it took before this one
    (`since`: that snapshot's `token`, not the snapshot, so snapshots do not chain):
    the Sockets it built anew, and last snapshot's Sockets it did not carry over.
    Lets a Delta skip finding them."""

    since: object
    fresh: tuple[Socket, ...]
    gone: tuple[Socket, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one poll saw, at one moment."""

    taken_at: float
    host: str
    privileged: bool
    ephemeral_range: EphemeralRange
    listeners: tuple[Socket, ...]
    connections: tuple[Socket, ...]
    unattributed: int = 0
    errors: tuple[str, ...] = ()
    source: str = ""
    duration: float = 0.0
    interfaces: InterfaceTable = InterfaceTable()
    totals: SocketTotals = SocketTotals()
    moved: Moved | None = field(default=None, init=False, repr=False, compare=False)
    token: object = field(default_factory=object, init=False, repr=False, compare=False)
    """An object of this snapshot's own, for a later one's `moved.since` to name it by.
    Neither is copied by `dataclasses.replace`, whose copy may hold other sockets."""
    listening_ports: frozenset[tuple[str, int]] = field(init=False, repr=False, compare=False)
    _by_key: Mapping[SocketKey, Socket] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _all: tuple[Socket, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ports = frozenset((s.proto, s.local_port) for s in self.listeners)
        object.__setattr__(self, "listening_ports", ports)

    def account(self, moved: Moved) -> Snapshot:
        """This snapshot, with its collector's account of what moved attached (done
        once, by the collector, before anyone else sees it)."""
        object.__setattr__(self, "moved", moved)
        return self

    @property
    def by_key(self) -> Mapping[SocketKey, Socket]:
        """Every socket by `Socket.key`, built on first use (or patched from the last
        snapshot's by `Delta.between`) and kept."""
        if self._by_key is None:
            object.__setattr__(self, "_by_key", index_sockets(self.sockets))
        assert self._by_key is not None
        return self._by_key

    def patch_index(self, old: Snapshot, gone: Iterable[Socket], fresh: Iterable[Socket]) -> bool:
        """Make this snapshot's index from `old`'s: its `gone` sockets out, `fresh` in.

        Exact only while every key is unique; a kernel that reported a key twice (an
        index shorter than its snapshot) is refused (False), and the index is then
        built from scratch on first use.
        """
        previous = old.by_key
        if self._by_key is not None or len(previous) != len(old.sockets):
            return False
        index = dict(previous)
        for sock in gone:
            del index[sock.key]
        for sock in fresh:
            index[sock.key] = sock
        if len(index) != len(self.sockets):
            return False
        object.__setattr__(self, "_by_key", index)
        return True

    @property
    def sockets(self) -> tuple[Socket, ...]:
        """Listeners then connections, as one tuple (built once)."""
        if self._all is None:
            object.__setattr__(self, "_all", self.listeners + self.connections)
        assert self._all is not None
        return self._all

    def is_ephemeral(self, sock: Socket) -> bool:
        """A connection whose local port the kernel lent it: in range, not reserved,
        and not the port of one of this machine's listeners (that is a service port)."""
        if sock.is_listener:
            return False
        port = sock.local_port
        return port in self.ephemeral_range and (sock.proto, port) not in self.listening_ports


@dataclass(frozen=True, slots=True)
class Delta:
    """What changed between two snapshots, keyed by `Socket.key`.

    `changed` holds the new version of sockets whose state, owner or queues moved.
    """

    added: tuple[Socket, ...] = ()
    removed: tuple[Socket, ...] = ()
    changed: tuple[Socket, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @classmethod
    def between(cls, old: Snapshot | None, new: Snapshot) -> Delta:
        """The difference, keyed by `Socket.key`, in time proportional to what moved.

        Collectors hand back the very same (frozen) Socket for a socket that did not
        change, so only sockets that are not the same object in both snapshots (a few
        hundred a poll at 200 connections/s, against 20,000 that stayed) need a key or
        a comparison; which those are, the collector says (`moved_between`). The new
        snapshot's index is last one's, patched, and kept for the next Delta.
        """
        if old is None:
            return cls(added=tuple(new.by_key.values()))
        fresh, gone = moved_between(old, new)
        old_by_key = old.by_key
        if not new.patch_index(old, gone, fresh):
            return cls.compared(old_by_key, new.by_key)
        new_by_key = new.by_key
        added, changed = [], []
        for sock in fresh:
            was = old_by_key.get(sock.key)
            if was is None:
                added.append(sock)
            elif was != sock:
                changed.append(sock)
        removed = tuple(s for s in gone if s.key not in new_by_key)
        return cls(added=tuple(added), removed=removed, changed=tuple(changed))

    @classmethod
    def compared(
        cls, old_by_key: Mapping[SocketKey, Socket], new_by_key: Mapping[SocketKey, Socket]
    ) -> Delta:
        """The difference of two whole indexes, key by key: the fallback when a snapshot
        reported a key twice, so objects and keys do not pair up one to one."""
        added = tuple(s for k, s in new_by_key.items() if k not in old_by_key)
        removed = tuple(s for k, s in old_by_key.items() if k not in new_by_key)
        changed = tuple(
            s for k, s in new_by_key.items() if (was := old_by_key.get(k, s)) is not s and was != s
        )
        return cls(added=added, removed=removed, changed=changed)


def moved_between(old: Snapshot, new: Snapshot) -> tuple[Sequence[Socket], Sequence[Socket]]:
    """(Sockets of `new` that are not in `old`, Sockets of `old` not in `new`), by object.

    The collector's own account (`new.moved`) when it is about `old` and its counts add
    up; otherwise found by object id in both (a few ms at 20,000 sockets).
    """
    moved = new.moved
    if (
        moved is not None
        and moved.since is old.token
        and len(old.sockets) - len(moved.gone) + len(moved.fresh) == len(new.sockets)
    ):
        return moved.fresh, moved.gone
    old_ids, new_ids = set(map(id, old.sockets)), set(map(id, new.sockets))
    fresh = [s for s in new.sockets if id(s) not in old_ids]
    gone = [s for s in old.sockets if id(s) not in new_ids]
    return fresh, gone


def index_sockets(sockets: Iterable[Socket]) -> Mapping[SocketKey, Socket]:
    """Sockets by identity; the last one wins if the kernel reports a key twice."""
    return {s.key: s for s in sockets}
