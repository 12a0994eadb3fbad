"""Turn the OS into a Snapshot.

Three socket-table sources feed one assembly step:
- `netlink` (Linux): a sock_diag dump, the cheapest read at server scale.
- `procfs` (Linux): /proc/net tables; what `auto` falls back to when netlink is refused.
- `psutil`: the portable path, psutil.net_connections() with its own owner walk.
The Linux sources share the cached inode -> process map; all three attach owners
through one `OwnerCache` and produce the same records. Only netlink can bring each TCP
connection's tcp_info (`Collector.tcp_info`). Each owner is placed in its container or
systemd unit (`cgroups`), containers named by their runtime's API (`runtime`), whose
port mappings become the snapshot's `published`.

A Linux collector reads its own network namespace as above and, with `namespaces=
"every"`, every other one it can (`netns_tables`); socket inodes are one number space
across namespaces, so one owner search places them all, each socket tagged with the
inode of its namespace, and a namespace whose processes are one container's is named
by it.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterable
from dataclasses import replace
from itertools import repeat
from typing import Literal

import psutil

from portscope.collect.counters import read_proc_counters
from portscope.collect.ephemeral import read_ephemeral_range
from portscope.collect.fdscan import ProcessId
from portscope.collect.forked import call_forked, can_fork
from portscope.collect.interfaces import read_interfaces
from portscope.collect.namespaces import (
    NETNS_DIR,
    Inventory,
    describe,
    discover,
    host_inode,
    link_inode,
    named_namespaces,
)
from portscope.collect.netlink import NetlinkUnavailable, SockDiagReader, Table, live_inodes
from portscope.collect.netns_tables import REDISCOVER_AFTER, NamespaceTables, Part
from portscope.collect.owners import InodeOwners, OwnerCache, identify
from portscope.collect.privports import unprivileged_port_start
from portscope.collect.procnet import RawSocket, read_tables
from portscope.collect.runtime import ContainerOf, Runtimes
from portscope.collect.sockstat import read_socket_totals
from portscope.model import (
    Container,
    EphemeralRange,
    Family,
    Moved,
    NamespaceInfo,
    Owner,
    PortRules,
    Proto,
    Snapshot,
    Socket,
    TcpInfoTable,
)
from portscope.published import publish
from portscope.sanitise import os_text

SourceName = Literal["auto", "netlink", "procfs", "psutil"]
Scope = Literal["own", "every"]
"""Which network namespaces a collector reads: its own, or every one it can."""
ConcreteSource = Literal["netlink", "procfs", "psutil"]

PSUTIL_FAMILIES: dict[int, Family] = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}
PSUTIL_TYPES: dict[int, Proto] = {socket.SOCK_STREAM: "tcp", socket.SOCK_DGRAM: "udp"}
CLOSED_BY_OWNER = frozenset(
    {
        psutil.CONN_TIME_WAIT,
        psutil.CONN_FIN_WAIT1,
        psutil.CONN_FIN_WAIT2,
        psutil.CONN_CLOSING,
        psutil.CONN_LAST_ACK,
    }
)
"""States an owner's close() leaves behind: without inodes (psutil has none) an ownerless
socket in one of these is taken as orphaned, not as hidden."""
FORKED_SCAN_DEADLINE = 5.0
"""Seconds the first poll waits for its forked owner search before searching itself;
far longer than the search takes at 20k sockets (BENCHMARKS.md, "Behind the code")."""

Split = tuple[tuple[Socket, ...], tuple[Socket, ...]]
"""(listeners, connections)."""


def is_privileged() -> bool:
    """Whether this process can see every process's sockets (root on POSIX)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


def read_port_rules(snapshot: Snapshot | None = None, platform: str = sys.platform) -> PortRules:
    """This host's rules for ports, for a lookup; a snapshot's range and privilege when one
    is given, so the card agrees with the sockets it lists."""
    return PortRules(
        ephemeral_range=snapshot.ephemeral_range if snapshot else read_ephemeral_range(platform)[0],
        unprivileged_start=unprivileged_port_start(platform),
        privileged=snapshot.privileged if snapshot else is_privileged(),
        platform=platform,
    )


def own_netns() -> int:
    """The inode of the network namespace this thread is in; 0 where there are none."""
    try:
        return link_inode("/proc/thread-self/ns/net")
    except (OSError, ValueError):
        return 0


def default_scope(proc_root: str = "/proc") -> Scope:
    """Every namespace when portscope runs in the host's, as an operator on the host
    means "this machine"; only its own when run inside one (`ip netns exec`, a
    container), as `ss` there shows that namespace's; its own for another /proc."""
    if proc_root != "/proc" or not sys.platform.startswith("linux"):
        return "own"
    own = own_netns()
    try:
        return "every" if own and own == host_inode() else "own"
    except (OSError, ValueError):
        return "own"


def choose_source(requested: SourceName = "auto", proc_root: str = "/proc") -> ConcreteSource:
    """`auto`: netlink on Linux (the collector drops to procfs if it is refused), psutil
    elsewhere; procfs when pointed at another /proc, whose sockets netlink cannot see."""
    if requested != "auto":
        return requested
    if not (sys.platform.startswith("linux") and os.path.exists(f"{proc_root}/net/tcp")):
        return "psutil"
    return "netlink" if proc_root == "/proc" and hasattr(socket, "AF_NETLINK") else "procfs"


class Collector:
    """Takes snapshots; keep one instance alive so its caches pay off across polls.

    `tcp_info`: ask the kernel for every TCP connection's tcp_info too (netlink only;
    it makes a steady poll dearer, BENCHMARKS.md "Traffic"), so switch it on only while
    something shows or prints traffic; it can be switched between polls.
    """

    def __init__(
        self,
        source: SourceName = "auto",
        proc_root: str = "/proc",
        *,
        fork_first_scan: bool = False,
        tcp_info: bool = False,
        namespaces: Scope = "own",
        rediscover_after: float = REDISCOVER_AFTER,
    ) -> None:
        self.source = choose_source(source, proc_root)
        self.fork_first_scan = fork_first_scan
        self.falls_back = source == "auto"
        self.runtimes = Runtimes()
        self.owner_cache = OwnerCache(self.runtimes, proc_root)
        self.container_of = ContainerOf(self.runtimes, proc_root)
        self.inode_owners = InodeOwners(proc_root=proc_root)
        self.proc_root = proc_root
        self.sock_diag = SockDiagReader(tcp_info=tcp_info)
        # id(row) -> (row, owner, the Socket built from them, whether it is a connection)
        self._built: dict[int, tuple[RawSocket, Owner | None, Socket, bool]] = {}
        self._counters: dict[int, bytes] = {}  # last poll's tcp_info, by id of its Socket
        self._last: object | None = None  # the token of the last snapshot returned
        self.netns = own_netns() if self.source != "psutil" else 0
        """Our own namespace's inode, which every socket we read ourselves lives in."""
        self._own_info: NamespaceInfo | None = None
        self._sizes: dict[int, int] = {}
        """Rows read per namespace in the last poll."""
        self.others = (
            NamespaceTables(
                self.netns,
                proc_root,
                tcp_info=tcp_info,
                procfs=self.source == "procfs",
                rediscover_after=rediscover_after,
                find=self._discover,
            )
            if namespaces == "every" and self.netns and self.source != "psutil"
            else None
        )
        """The other namespaces' tables, when asked to read every namespace."""

    def _discover(self) -> Inventory:
        """Every namespace, those of one container named by it (each process's cgroup
        read once: `ContainerOf` forgets the pids that are gone)."""
        inventory = discover(self.proc_root, container_of=self.container_of)
        self.container_of.keep_only(inventory.netns_of)
        return inventory

    @property
    def tcp_info(self) -> bool:
        return self.sock_diag.tcp_info

    @tcp_info.setter
    def tcp_info(self, wanted: bool) -> None:
        self.sock_diag.tcp_info = wanted
        if self.others is not None:
            self.others.tcp_info = wanted

    def collect(self) -> Snapshot:
        started = time.perf_counter()
        taken_at = time.time()
        since, self._last = self._last, None  # a poll that fails midway vouches for nothing
        moved = None
        tcp_info = None
        self.runtimes.begin_poll()
        self.owner_cache.rename()
        ephemeral_range, range_notes = read_ephemeral_range(proc_root=self.proc_root)
        namespaces: tuple[NamespaceInfo, ...] = ()
        hidden = 0
        if self.source in ("netlink", "procfs"):
            inventory, parts = self.others.read() if self.others else (None, [])
            (listeners, connections), unattributed, errors, fresh, gone, tcp_info = (
                self._from_linux(since, parts)
            )
            if since is not None:
                moved = Moved(since, fresh, gone)
            own = self._own(inventory, ephemeral_range)
            namespaces = namespace_infos(own, inventory, parts, self._sizes)
            hidden = inventory.unreadable if inventory else 0
        else:
            sockets, unattributed, errors = self._from_psutil()
            listeners, connections = partition(sockets)
        self.runtimes.placed(self.owner_cache.in_containers())
        interfaces, interface_notes = read_interfaces()
        counters, counter_notes = read_proc_counters(self.proc_root)
        notes = [
            *errors,
            *range_notes,
            *interface_notes,
            *counter_notes,
            *self.runtimes.take_notes(),
        ]
        snapshot = Snapshot(
            taken_at=taken_at,
            host=os_text(socket.gethostname()),
            privileged=is_privileged(),
            ephemeral_range=ephemeral_range,
            listeners=listeners,
            connections=connections,
            unattributed=unattributed,
            errors=tuple(map(os_text, notes)),
            source=self.source,
            duration=time.perf_counter() - started,
            interfaces=interfaces,
            totals=read_socket_totals(self.proc_root),
            counters=counters,
            tcp_info=tcp_info,
            published=publish(listeners, self.runtimes.bindings),
            containers=self._containers(),
            namespaces=namespaces,
            hidden_netns=hidden,
        )
        if moved is not None:
            snapshot.account(moved)
        self._last = snapshot.token
        return snapshot

    def _containers(self) -> tuple[Container, ...]:
        """The containers this poll's processes run in, and those publishing ports."""
        seen = {b.container.id: b.container for b in self.runtimes.bindings}
        seen.update(self.owner_cache.containers())
        return tuple(sorted(seen.values(), key=lambda c: (c.label, c.id)))

    def _own(self, inventory: Inventory | None, ephemeral_range: EphemeralRange) -> NamespaceInfo:
        """Our own namespace as this poll sees it: named as discovery names it (once,
        without discovery, when reading only our own)."""
        found = inventory and next((n for n in inventory.namespaces if n.inode == self.netns), None)
        if found:
            name, kind, pids, aliases = found.name, found.kind, found.pids, found.ip_names
        elif self._own_info is not None:
            name, kind, pids, aliases = (
                self._own_info.name,
                self._own_info.kind,
                (),
                self._own_info.aliases,
            )
        else:
            names = tuple(named_namespaces(NETNS_DIR).get(self.netns, ()))
            try:
                host = host_inode()
            except (OSError, ValueError):
                host = self.netns
            named = describe(self.netns, [], names, host)
            name, kind, pids, aliases = named.name, named.kind, (), named.ip_names
        self._own_info = NamespaceInfo(
            self.netns, name, kind, ephemeral_range, pids=pids, aliases=aliases
        )
        return self._own_info

    def _attach(self, idents: Iterable[ProcessId]) -> dict[ProcessId, Owner]:
        """Owners for this poll's processes; the cache forgets everyone else."""
        live = set(idents)
        owners = {ident: self.owner_cache.owner(ident) for ident in live}
        self.owner_cache.keep_only(live)
        return owners

    def _read_linux_tables(
        self, parts: list[Part]
    ) -> tuple[list[tuple[int, Table]], set[int], list[str]]:
        """Our socket table and the other namespaces' that could be read, each with its
        namespace's inode; their inodes together; notes. With `fork_first_scan`, the
        first poll's owners are then placed (a readlink of every fd on the machine) in
        a child process."""
        table, errors = self._dump_linux_table()
        tables = [(self.netns, table)]
        self._sizes = {self.netns: len(table.rows)}
        for part in parts:
            errors.extend(part.notes)
            if part.table is not None:
                tables.append((part.namespace.inode, part.table))
                self._sizes[part.namespace.inode] = len(part.table.rows)
        inodes = (
            table.inodes.union(*(t.inodes for _netns, t in tables[1:])) if parts else table.inodes
        )
        if self.fork_first_scan and not self.inode_owners.fd_tables and can_fork():
            self._place_in_child(inodes)
        return tables, inodes, errors

    def _place_in_child(self, inodes: set[int]) -> None:
        """Owners placed by a child, which hands back its `InodeOwners` whole; the poll
        then resolves against that as usual and finds nothing left to search.

        The parent only waits, so this gains nothing for a lone snapshot; it is for
        the dashboard, whose UI import runs in another thread meanwhile and would
        otherwise share the interpreter lock with the scan of every fd on the machine
        (BENCHMARKS.md, "Behind the code"). If the child fails, the poll searches as if
        it had never been asked.
        """
        owners = self.inode_owners

        def place() -> InodeOwners:
            owners.resolve(inodes, self._recount)
            return owners

        placed = call_forked(place, FORKED_SCAN_DEADLINE)
        if placed is not None:
            self.inode_owners = placed

    def _dump_linux_table(self) -> tuple[Table, list[str]]:
        """netlink if it works; under `auto` a refusal switches this collector to procfs."""
        if self.source == "netlink":
            try:
                return self.sock_diag.read(), []
            except NetlinkUnavailable as exc:
                if not self.falls_back:
                    return Table([], set()), [f"netlink: {exc.strerror or exc}"]
                self.source = "procfs"
        rows, errors = read_tables(f"{self.proc_root}/net")
        return Table(rows, {r.inode for r in rows if r.inode}), errors

    def _recount(self) -> set[int]:
        """The kernel's socket inodes now, by the cheapest read of the current source,
        in every namespace this collector reads through a handle too."""
        elsewhere = self.others.recount() if self.others else set()
        if self.source == "netlink":
            try:
                return live_inodes() | elsewhere
            except NetlinkUnavailable:
                pass
        rows = read_tables(f"{self.proc_root}/net")[0]
        return {row.inode for row in rows if row.inode} | elsewhere

    def _from_linux(
        self, since: object, parts: list[Part]
    ) -> tuple[Split, int, list[str], tuple[Socket, ...], tuple[Socket, ...], TcpInfoTable | None]:
        """(listeners, connections) with owners attached, unattributed, errors, the
        Sockets built anew and dropped since last poll, and the connections' tcp_info if
        the dump brought it, with which of them changed since the snapshot `since` names
        (None: no account). A row the reader handed back unchanged, still held by the
        same owner, keeps last poll's Socket (and which of the two it is) instead of
        building a new one.

        Last poll's tcp_info is found by id of its Socket: last poll's Sockets all live
        (in `_built`) until this loop is done, so an id there is still theirs; it is
        dropped first, so a poll that fails midway leaves none to mislead the next."""
        tables, inodes, errors = self._read_linux_tables(parts)
        holders = self.inode_owners.resolve(inodes, self._recount)
        owners = self._attach(holders.values())
        owner_of = {inode: owners[ident] for inode, ident in holders.items()}
        split: tuple[list[Socket], list[Socket]] = ([], [])
        previous, built = self._built, {}
        fresh, replaced = [], []
        counted: list[Socket] = []
        counters: dict[int, bytes] = {}
        changed: list[Socket] = []
        last_counters, self._counters = self._counters, {}
        with_info = False
        for netns, (raw, _inodes, infos) in tables:
            with_info = with_info or infos is not None
            for row, info in zip(raw, repeat(None) if infos is None else infos, strict=False):
                owner = owner_of.get(row.inode)
                entry = previous.pop(id(row), None)
                if entry is None or entry[0] is not row or entry[1] is not owner:
                    if entry is not None:
                        replaced.append(entry[2])
                    sock = _from_raw(row, owner, netns)
                    fresh.append(sock)
                    entry = (row, owner, sock, not sock.is_listener)
                built[id(row)] = entry
                split[entry[3]].append(entry[2])
                if info is not None and entry[3]:  # a listener's tcp_info says nothing
                    connection = entry[2]
                    counted.append(connection)
                    counters[id(connection)] = info
                    if last_counters.get(id(connection)) != info:
                        changed.append(connection)
        gone = (*replaced, *(entry[2] for entry in previous.values()))
        self._built, self._counters = built, counters
        listeners, connections = split
        return (
            (tuple(listeners), tuple(connections)),
            len(inodes) - len(holders),
            errors,
            tuple(fresh),
            gone,
            TcpInfoTable(counted, counters, changed, since) if with_info else None,
        )

    def _from_psutil(self) -> tuple[list[Socket], int, list[str]]:
        try:
            conns = psutil.net_connections("inet")
        except psutil.AccessDenied as exc:
            return [], 0, [f"psutil.net_connections: access denied ({exc})"]
        idents = {pid: identify(pid) for pid in {c.pid for c in conns if c.pid}}
        owners = self._attach(i for i in idents.values() if i is not None)
        sockets: list[Socket] = []
        unattributed = 0
        for c in conns:
            proto = PSUTIL_TYPES.get(c.type)
            family = PSUTIL_FAMILIES.get(c.family)
            if proto is None or family is None:
                continue
            ident = idents.get(c.pid) if c.pid else None
            owner = owners.get(ident) if ident else None
            has_holder = proto == "udp" or c.status not in CLOSED_BY_OWNER
            unattributed += owner is None and has_holder
            sockets.append(
                Socket(
                    proto=proto,
                    family=family,
                    local_address=c.laddr.ip,
                    local_port=c.laddr.port,
                    remote_address=c.raddr.ip if c.raddr else None,
                    remote_port=c.raddr.port if c.raddr else None,
                    state=None if c.status == psutil.CONN_NONE else c.status,
                    owner=owner,
                )
            )
        return sockets, unattributed, []


def partition(sockets: Iterable[Socket]) -> tuple[tuple[Socket, ...], tuple[Socket, ...]]:
    """(listeners, connections), in one pass."""
    listeners: list[Socket] = []
    connections: list[Socket] = []
    for sock in sockets:
        (listeners if sock.is_listener else connections).append(sock)
    return tuple(listeners), tuple(connections)


def _from_raw(raw: RawSocket, owner: Owner | None, netns: int) -> Socket:
    return Socket(
        proto=raw.proto,
        family=raw.family,
        local_address=raw.local_address,
        local_port=raw.local_port,
        remote_address=raw.remote_address,
        remote_port=raw.remote_port,
        state=raw.state,
        owner=owner,
        inode=raw.inode,
        uid=raw.uid,
        rx_queue=raw.rx_queue,
        tx_queue=raw.tx_queue,
        netns=netns,
    )


def namespace_infos(
    own: NamespaceInfo,
    inventory: Inventory | None,
    parts: list[Part],
    counts: dict[int, int],
) -> tuple[NamespaceInfo, ...]:
    """Every namespace of the poll, ours first, then in the inventory's order (host
    first), with the number of sockets read in each (`counts`, by inode)."""
    infos = {own.inode: replace(own, sockets=counts.get(own.inode, 0))}
    for part in parts:
        ns = part.namespace
        infos[ns.inode] = NamespaceInfo(
            ns.inode,
            ns.name,
            ns.kind,
            part.ephemeral_range,
            counts.get(ns.inode, 0),
            part.table is not None,
            part.reason,
            ns.pids,
            ns.ip_names,
        )
    order = [own.inode, *(ns.inode for ns in inventory.namespaces)] if inventory else [own.inode]
    return tuple(infos[inode] for inode in dict.fromkeys(order) if inode in infos)


def take_snapshot(
    source: SourceName = "auto", proc_root: str = "/proc", namespaces: Scope = "own"
) -> Snapshot:
    """One poll with fresh caches: what `portscope snapshot` prints."""
    return Collector(source=source, proc_root=proc_root, namespaces=namespaces).collect()
