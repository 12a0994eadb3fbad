"""Immutable records that every layer speaks: sockets, owners and snapshots.

Collectors produce these, the poller diffs them (`delta`), the CLI serialises them and
the dashboard renders them. Nothing here touches the OS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from portscope.addresses import plain_address
from portscope.tcpinfo import TcpInfo, decode

Proto = Literal["tcp", "udp"]
Family = Literal["ipv4", "ipv6"]

LISTEN = "LISTEN"
TIME_WAIT = "TIME_WAIT"
CLOSE_WAIT = "CLOSE_WAIT"
ESTABLISHED = "ESTABLISHED"
MAX_PORT = 65535
"""The highest TCP or UDP port: ports are 16 bits."""
NETNS_PREFIX = "netns:"
"""How a network namespace without a name is called: `netns:<inode>`."""


def names_namespace(selector: str, inode: int, names: Iterable[str]) -> bool:
    """Whether `selector` (a name, an inode, `netns:<inode>`, as `--netns` takes them)
    means the namespace with `inode` and `names`."""
    return selector in names or selector.removeprefix(NETNS_PREFIX) == str(inode)


SocketKey = tuple[str, str, str, int, "str | None", "int | None", int, int]
"""Stable identity of a socket across polls (see `Socket.key`)."""

TCP_LIFE = {
    "SYN_SENT": 0,
    "SYN_RECV": 0,
    "NEW_SYN_RECV": 0,
    ESTABLISHED: 1,
    "FIN_WAIT1": 2,
    CLOSE_WAIT: 2,
    "FIN_WAIT2": 3,
    "CLOSING": 3,
    "LAST_ACK": 3,
    TIME_WAIT: 4,
    "CLOSE": 5,
}
"""How far through its life a TCP connection is: one socket only ever moves forward."""


def proto_label(proto: str, family: str) -> str:
    """`tcp`, `tcp6`, `udp6`: the protocol column as ss and netstat print it."""
    return proto + ("6" if family == "ipv6" else "")


def endpoint(address: str | None, port: int | None) -> str:
    """ip:port, with IPv6 in brackets as ss prints it; '*' for no peer."""
    if address is None:
        return "*"
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


Runtime = Literal["docker", "podman", "containerd", "cri-o"]


@dataclass(frozen=True, slots=True)
class Container:
    """A container as its cgroup path names it (runtime, id, a Kubernetes pod's uid),
    with what its runtime's API adds when it answers: its name and image, and for a
    Kubernetes container its pod, the pod's namespace and its name in the pod."""

    runtime: Runtime | None
    id: str
    pod_uid: str | None = None
    name: str | None = None
    image: str | None = None
    pod: str | None = None
    pod_namespace: str | None = None
    pod_container: str | None = None

    @property
    def label(self) -> str:
        """What an operator calls it: its name, else the short id `docker ps` shows."""
        return self.name or self.id[:12]


@dataclass(frozen=True, slots=True)
class Helper:
    """A runtime's helper process (conmon) serving one container (id None where the
    path does not say which: podman's cgroupfs driver puts every conmon in one)."""

    runtime: Runtime
    name: str
    container_id: str | None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a process runs, as its cgroup path says: in a container, as a runtime's
    helper, or in a systemd unit (`unit`: the innermost service or scope of a process
    in no container; `user`: the uid whose `systemd --user` runs it).
    `own_network`: the process is in a network namespace other than pid 1's (a
    container with a network of its own, not `--network host`)."""

    path: str
    container: Container | None = None
    helper: Helper | None = None
    unit: str | None = None
    user: int | None = None
    own_network: bool = False


@dataclass(frozen=True, slots=True)
class PortBinding:
    """One published port as its runtime maps it: `host_address:host_port` on the host
    (0.0.0.0 or :: for every address) forwards to the container's `container_port`."""

    container: Container
    proto: Proto
    host_address: str
    host_port: int
    container_port: int


@dataclass(frozen=True, slots=True)
class Owner:
    """The process that holds a socket; any field may be unknown (None) when not visible."""

    pid: int
    name: str | None = None
    user: str | None = None
    cmdline: tuple[str, ...] | None = None
    create_time: float | None = None
    placement: Placement | None = None

    @property
    def container(self) -> Container | None:
        return self.placement.container if self.placement else None

    @property
    def unit(self) -> str | None:
        return self.placement.unit if self.placement else None

    @property
    def where(self) -> str | None:
        """The container (by name) or unit it runs in, as one short word for a cell."""
        placement = self.placement
        if placement is None:
            return None
        if placement.container is not None:
            return placement.container.label
        return placement.unit


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
    netns: int = 0
    """The inode of the network namespace the socket lives in (0: not said, as for a
    socket built without a collector): two namespaces can each have 0.0.0.0:8080."""
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
        """Where a socket is, as one poll sees it: unique within a poll, and the same
        for one socket through its state changes.

        A TCP connection is unique by its 4-tuple, and keeps it from ESTABLISHED through
        TIME_WAIT (when the kernel drops the inode), so the inode is left out there.
        A later connection can take the same 4-tuple, though: `continues` tells a new
        socket on an old key from the old one. Listeners and UDP sockets can share an
        address (SO_REUSEPORT), so the inode tells them apart. Every network namespace
        has its own addresses and ports, so its inode is part of every key.
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
                self.netns,
            )
            object.__setattr__(self, "_key", key)
        return key

    def continues(self, was: Socket) -> bool:
        """Whether this can be `was` (same key, an earlier poll) later in its life, rather
        than a new socket that took over its 4-tuple.

        The inode names the socket while a process holds it; the kernel reports 0 before
        it is accepted and after its holder closed it (FIN_WAIT, LAST_ACK, TIME_WAIT), so
        two different non-zero inodes are two sockets, and a change to or from 0 is not
        a new one. Without both inodes, the state decides: a TCP socket never moves back
        in its life (`TCP_LIFE`), so TIME_WAIT followed by ESTABLISHED is a connection
        that reused the 4-tuple. Two sockets in a row at the same stage of life and
        without both inodes (psutil knows none) cannot be told apart.
        """
        if self.inode and was.inode:
            return self.inode == was.inode
        if self.proto != "tcp":
            return True
        return TCP_LIFE.get(self.state or "", 0) >= TCP_LIFE.get(was.state or "", 0)


@dataclass(frozen=True, slots=True)
class Publication:
    """A published port as one poll sees it: the runtime's binding, the host listener
    that holds the port for the container (conmon, docker-proxy, rootlessport; None
    when only NAT rules forward it), and the container's listener that serves it
    (None while it is not seen)."""

    binding: PortBinding
    holder: Socket | None
    server: Socket | None

    @property
    def target(self) -> str:
        """`web2:8082 (python3)`: where a connection to the host port ends up."""
        where = f"{self.binding.container.label}:{self.binding.container_port}"
        owner = self.server.owner if self.server else None
        return f"{where} ({owner.name or '?'})" if owner else where

    @property
    def host_side(self) -> str:
        """`127.0.0.1:18082`, the address the host answers on."""
        return endpoint(self.binding.host_address, self.binding.host_port)


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
class NamespaceInfo:
    """One network namespace of a snapshot: who it is, its own port rules, and whether
    its sockets could be read (`reason` says why not, and how to see them)."""

    inode: int
    name: str
    """`host`, a container's or `ip netns` name, or `netns:<inode>`."""
    kind: str
    """`host`, `named` (ip netns), `process` (only processes keep it), or what a namer
    (collect.namespaces.describe) calls it."""
    ephemeral_range: EphemeralRange | None = None
    """Its own range and reserved ports; None when they could not be read (the
    snapshot's top-level range stands in)."""
    sockets: int = 0
    readable: bool = True
    reason: str | None = None
    pids: tuple[int, ...] = ()
    """Processes in it, lowest first, as discovery found them."""
    aliases: tuple[str, ...] = ()
    """Other names that select it (its `ip netns` names, where it is named otherwise)."""

    def is_named(self, selector: str) -> bool:
        return names_namespace(selector, self.inode, (self.name, *self.aliases))


@dataclass(frozen=True, slots=True)
class PortRules:
    """How this host treats ports, read by the collectors and handed to the lookup, which
    shows them beside its registry but never reads them itself."""

    ephemeral_range: EphemeralRange
    unprivileged_start: int
    """The first port a process without privilege may bind."""
    privileged: bool
    """Whether this process runs as root, so may bind below `unprivileged_start`."""
    platform: str
    """`sys.platform` of the host: which commands the lookup suggests for checking a port."""


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
        plain = plain_address(address)
        for interface in self.interfaces:
            if any(plain_address(a) == plain for a in interface.addresses):
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
class Counter:
    """One kernel counter portscope watches, by nstat's name (`TcpExtListenDrops`: the
    `ListenDrops` column of the `TcpExt` lines of /proc/net/netstat)."""

    name: str
    meaning: str
    alarm: bool = False
    """A rise means connections were lost (dropped, refused for memory): the dashboard
    marks it; the others are context (resets, retransmissions)."""


WATCHED_COUNTERS = (
    Counter("TcpExtListenOverflows", "accept queue full: a handshake's last ACK dropped", True),
    Counter("TcpExtListenDrops", "SYNs and handshakes dropped at a listener, overflows too", True),
    Counter("TcpExtTCPReqQFullDrop", "SYNs dropped: SYN queue full and no syncookies", True),
    Counter("TcpExtTCPReqQFullDoCookies", "SYN queue full: answered with a syncookie"),
    Counter("TcpExtTCPSynRetrans", "SYNs sent again: a handshake not answered in time"),
    Counter("TcpExtTCPMemoryPressures", "times TCP memory use entered pressure", True),
    Counter("TcpExtTCPAbortOnMemory", "connections reset for lack of memory", True),
    Counter("TcpExtTCPAbortOnData", "connections reset: data arrived after close"),
    Counter("TcpExtTCPAbortOnClose", "connections reset: closed with unread data"),
    Counter("TcpExtTCPAbortOnTimeout", "connections reset: retransmissions timed out"),
    Counter("TcpExtTCPAbortOnLinger", "connections reset: linger time ran out"),
    Counter("TcpExtTCPAbortFailed", "resets that could not be sent"),
    Counter("TcpEstabResets", "established connections reset"),
    Counter("TcpOutRsts", "resets sent"),
    Counter("TcpAttemptFails", "connection attempts that failed"),
    Counter("TcpRetransSegs", "segments retransmitted"),
)
"""The counters `nstat` shows that say what no socket table can: drops, resets, memory."""
LISTEN_DROPS = "TcpExtListenDrops"
LISTEN_OVERFLOWS = "TcpExtListenOverflows"


@dataclass(frozen=True, slots=True)
class KernelCounters:
    """The watched counters of one network namespace as the kernel gave them (a counter
    it did not give is absent), and its conntrack table's fill (None without the
    nf_conntrack module). Counters only grow; their rates are the analysis's."""

    values: Mapping[str, int] = field(default_factory=dict)
    conntrack_count: int | None = None
    conntrack_max: int | None = None


@dataclass(frozen=True, slots=True)
class Moved:
    """What a collector knows changed since the snapshot it took before this one
    (`since`: that snapshot's `token`, not the snapshot, so snapshots do not chain):
    the Sockets it built anew, and last snapshot's Sockets it did not carry over.
    Lets a Delta skip finding them."""

    since: object
    fresh: tuple[Socket, ...]
    gone: tuple[Socket, ...]


class TcpInfoTable:
    """The tcp_info of each TCP connection of one snapshot, kept beside its Socket
    rather than in it.

    A busy connection's counters move with every segment. Inside `Socket` they would
    make it a new, unequal record every poll: every busy socket would be a Delta change
    and a repainted row, and the collector could not hand back last poll's object for
    it. Beside it they change nothing that Deltas, indexes or rows compare.

    Held by `id` of the Socket, as the kernel's kept bytes (`tcpinfo`), decoded when
    read; the table keeps its Sockets, so each id stays the one of its Socket for as
    long as the table lives. No record per connection: at 20,000 a poll, a tuple each
    would be that many more objects for the garbage collector to walk. A connection
    without tcp_info (TIME_WAIT, SYN_RECV) is not in it.

    `changed`, when the collector can say it: the connections whose bytes differ from
    (or were not in) the table of the snapshot whose `token` is `since`, so that a
    reader following every poll need not compare 20,000 of them itself.
    """

    __slots__ = ("_raw", "_sockets", "changed", "since")

    def __init__(
        self,
        sockets: list[Socket],
        raw: dict[int, bytes],
        changed: list[Socket] | None = None,
        since: object = None,
    ) -> None:
        """`raw` by id of each of `sockets`, filled in the same order."""
        self._sockets = sockets
        self._raw = raw
        self.changed = changed
        self.since = since

    def changed_since(self, token: object) -> list[Socket] | None:
        """The connections that changed since the snapshot `token` names, if this
        table's account is about that one; else None (compare them all)."""
        return self.changed if self.since is not None and self.since is token else None

    def __len__(self) -> int:
        return len(self._raw)

    def raw(self, sock: Socket) -> bytes | None:
        """The kept bytes of `sock`, undecoded; None for a socket not in the table
        (no other live object can have the id of one of the table's)."""
        return self._raw.get(id(sock))

    def get(self, sock: Socket) -> TcpInfo | None:
        kept = self.raw(sock)
        return None if kept is None else decode(kept)

    def items(self) -> Iterator[tuple[Socket, bytes]]:
        """(socket, kept bytes) of every connection in the table."""
        return zip(self._sockets, self._raw.values(), strict=True)

    def only(self, sockets: Iterable[Socket]) -> TcpInfoTable:
        """The table of those of `sockets` it holds (a filtered snapshot's), without an
        account of what changed: that was about the whole table, so a reader compares."""
        kept = [s for s in sockets if id(s) in self._raw]
        return TcpInfoTable(kept, {id(s): self._raw[id(s)] for s in kept})


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
    counters: KernelCounters = KernelCounters()
    tcp_info: TcpInfoTable | None = field(default=None, compare=False, repr=False)
    """The TCP connections' tcp_info, when the collector asked for it and its source
    has it (netlink); None otherwise."""
    published: tuple[Publication, ...] = ()
    """The containers' published ports, matched to this poll's sockets."""
    containers: tuple[Container, ...] = ()
    """The containers this poll saw (a process of theirs holds a socket, or they
    publish a port), by label."""
    namespaces: tuple[NamespaceInfo, ...] = ()
    """Every network namespace the poll knew of, readable or not: the one it was taken
    in first (the host's, as a rule), then the host's, then by name."""
    hidden_netns: int = 0
    """Processes whose network namespace this user may not even look at (not root;
    as root, only a sandbox's init), so their namespaces are not in `namespaces`."""
    moved: Moved | None = field(default=None, init=False, repr=False, compare=False)
    token: object = field(default_factory=object, init=False, repr=False, compare=False)
    """An object of this snapshot's own, for a later one's `moved.since` to name it by.
    Neither is copied by `dataclasses.replace`, whose copy may hold other sockets."""
    listening_ports: frozenset[tuple[str, int, int]] = field(init=False, repr=False, compare=False)
    """(proto, port, netns) of every listener: a port is a service port in its own
    namespace only."""
    ranges: Mapping[int, EphemeralRange] = field(init=False, repr=False, compare=False)
    """Each namespace's own ephemeral range by inode, where it differs from or was read
    beside the top-level one (see `range_in`)."""
    _spaces: Mapping[int, NamespaceInfo] = field(init=False, repr=False, compare=False)
    _by_key: Mapping[SocketKey, Socket] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _all: tuple[Socket, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _publications: Mapping[SocketKey, tuple[Publication, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        ports = frozenset((s.proto, s.local_port, s.netns) for s in self.listeners)
        object.__setattr__(self, "listening_ports", ports)
        spaces = {ns.inode: ns for ns in self.namespaces}
        object.__setattr__(self, "_spaces", spaces)
        ranges = {i: ns.ephemeral_range for i, ns in spaces.items() if ns.ephemeral_range}
        object.__setattr__(self, "ranges", ranges)

    def namespace(self, netns: int) -> NamespaceInfo | None:
        """The namespace with inode `netns` (a socket's `netns`), if the poll knew it."""
        return self._spaces.get(netns)

    @property
    def home(self) -> int:
        """The inode of the namespace the poll was taken in (first in `namespaces`),
        whose range is `ephemeral_range`; 0 when the poll knows no namespaces."""
        return self.namespaces[0].inode if self.namespaces else 0

    def find_namespace(self, selector: str) -> NamespaceInfo | None:
        """The namespace `selector` names (see `names_namespace`)."""
        return next((ns for ns in self.namespaces if ns.is_named(selector)), None)

    def in_namespace(self, chosen: NamespaceInfo) -> Snapshot:
        """This snapshot narrowed to the namespace `chosen`: its sockets, and it alone
        in `namespaces` (the counters stay the host's)."""
        narrowed = self.selected(lambda sock: sock.netns == chosen.inode)
        return replace(narrowed, namespaces=(chosen,))

    def namespace_name(self, netns: int) -> str:
        """How to call namespace `netns`: its name, `netns:<inode>` if unknown to the
        poll, `host` for a socket that says none (0)."""
        known = self._spaces.get(netns)
        return Snapshot.unnamed(netns) if known is None else known.name

    @staticmethod
    def unnamed(netns: int) -> str:
        """A namespace no poll named: `host` for none said (0), else `netns:<inode>`."""
        return "host" if netns == 0 else f"{NETNS_PREFIX}{netns}"

    def range_in(self, netns: int) -> EphemeralRange:
        """The ephemeral range of namespace `netns`: its own, else the top-level one."""
        return self.ranges.get(netns, self.ephemeral_range)

    def unread_namespaces(self) -> str | None:
        """What this poll could not see of other namespaces, and how to see it; None
        when it saw every one."""
        unread = sum(not ns.readable for ns in self.namespaces)
        hidden = 0 if self.privileged else self.hidden_netns
        if not unread and not hidden:
            return None
        parts = (
            [f"{unread} network namespace{'s' * (unread != 1)} could not be read"] if unread else []
        )
        if hidden:
            parts.append(f"the namespaces of {hidden} processes could not be looked at")
        hint = "" if self.privileged else ": run as root (sudo) to see them"
        return f"{' and '.join(parts)}{hint}"

    def account(self, moved: Moved) -> Snapshot:
        """This snapshot, with its collector's account of what moved attached (done
        once, by the collector, before anyone else sees it)."""
        object.__setattr__(self, "moved", moved)
        return self

    @property
    def by_key(self) -> Mapping[SocketKey, Socket]:
        """Every socket by `Socket.key`, built on first use (unless carried over from the
        last poll's by `delta.carry_index`) and kept."""
        if self._by_key is None:
            object.__setattr__(self, "_by_key", index_sockets(self.sockets))
        assert self._by_key is not None
        return self._by_key

    def adopt_index(self, index: Mapping[SocketKey, Socket]) -> bool:
        """Take `index`, built elsewhere from the last poll's (`delta.carry_index`), as
        `by_key`; refused (False) once this snapshot has an index of its own."""
        if self._by_key is not None:
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

    def publications(self, sock: Socket) -> tuple[Publication, ...]:
        """The published ports `sock` holds on the host or serves in a container."""
        if self._publications is None:
            index: dict[SocketKey, tuple[Publication, ...]] = {}
            for publication in self.published:
                for side in (publication.holder, publication.server):
                    if side is not None:
                        index[side.key] = (*index.get(side.key, ()), publication)
            object.__setattr__(self, "_publications", index)
        assert self._publications is not None
        return self._publications.get(sock.key, ())

    def held_for(self, sock: Socket) -> Publication | None:
        """The published port a host listener only holds for a container, if it is one."""
        return next(
            (p for p in self.publications(sock) if p.holder and p.holder.key == sock.key), None
        )

    def selected(self, keep: Callable[[Socket], bool]) -> Snapshot:
        """This snapshot with only the sockets `keep` lets through. The rest is the
        machine's and stays: a listener left out still makes its port a service port
        (`is_ephemeral`), and the counts and counters are the machine's. The tcp_info
        table keeps only the chosen sockets', so traffic sums are about them alone, and
        the published ports only those whose host listener or container listener was
        chosen (one that only NAT rules hold has neither, so a filter drops it)."""
        listeners = tuple(filter(keep, self.listeners))
        connections = tuple(filter(keep, self.connections))
        info = None if self.tcp_info is None else self.tcp_info.only(listeners + connections)
        chosen_keys = {s.key for s in listeners}
        published = tuple(
            p
            for p in self.published
            if any(side is not None and side.key in chosen_keys for side in (p.holder, p.server))
        )
        chosen = replace(
            self,
            listeners=listeners,
            connections=connections,
            tcp_info=info,
            published=published,
        )
        object.__setattr__(chosen, "listening_ports", self.listening_ports)
        return chosen

    def is_ephemeral(self, sock: Socket) -> bool:
        """A connection whose local port the kernel lent it: in its namespace's range,
        not reserved there, and not the port of one of that namespace's listeners (that
        is a service port; a container's listener does not make the host's port one)."""
        if sock.is_listener:
            return False
        port = sock.local_port
        return (
            port in self.ranges.get(sock.netns, self.ephemeral_range)
            and (sock.proto, port, sock.netns) not in self.listening_ports
        )


def index_sockets(sockets: Iterable[Socket]) -> Mapping[SocketKey, Socket]:
    """Sockets by identity; the last one wins if the kernel reports a key twice."""
    return {s.key: s for s in sockets}
