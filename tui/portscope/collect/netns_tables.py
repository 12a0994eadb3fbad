"""The socket tables of every other network namespace, read from where we stand.

Each namespace is entered once, on a thread of its own (`nshandle`), and what was
opened there (a sock_diag socket, its sysctl and sockstat files) serves every poll
after, from whichever thread polls: the event loop never enters anything. A
namespace whose sockstat counts no socket is not dumped (a dump walks tables every
namespace shares, BENCHMARKS.md "Network namespaces"), nor a family or protocol it
counts none of; nor, for up to `refresh_after` seconds, one whose socket counts and
IP/TCP/UDP counters have not moved since its last dump (no packet, no open, no close
of a connected socket): its last table stands. What moves no counter (a listener
closed and another opened between two polls, an accept() of a connection that has
sent nothing more) shows within `refresh_after`. Where entering is refused but the
namespace's processes are ours to see, their `/proc/<pid>/net` tables are read
instead (no range: that lives under /proc/sys, which shows the reader's own).
Discovery walks /proc, so it is repeated every `rediscover_after` seconds, not every
poll; a namespace that went meanwhile only shows an empty table until then (the
handle keeps it alive, nothing else).
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from dataclasses import dataclass

from portscope.collect.ephemeral import parse_range
from portscope.collect.namespaces import Inventory, Namespace, discover, link_inode
from portscope.collect.netlink import NetlinkUnavailable, SockDiagReader, Table, live_inodes
from portscope.collect.nshandle import NetnsHandle, open_handle
from portscope.collect.procnet import read_tables
from portscope.collect.setns import NamespaceGone
from portscope.model import EphemeralRange

REDISCOVER_AFTER = 5.0
"""Seconds between two walks of /proc for namespaces: a new container's sockets show
within that; discovery costs a readlink per process (BENCHMARKS.md, "Network
namespaces")."""
REFRESH_AFTER = 10.0
"""Seconds at most that a quiet namespace's last table stands for it (after its first
dump, half of that to all of it by inode, so namespaces found together do not all fall
due in one poll)."""
SUDO_HINT = "run portscope as root (sudo) to read it"
DUMP_NEEDS = (
    ("tcp_in_use", "tcp_time_wait"),
    ("tcp6_in_use", "tcp_time_wait"),
    ("udp_in_use",),
    ("udp6_in_use",),
)
"""For each dump of `netlink.DUMPS`, the sockstat counts of which one must be non-zero
for it to hold a row (sockstat's TIME_WAIT count is both families')."""
RANGE_FILE = "sys/net/ipv4/ip_local_port_range"
RESERVED_FILE = "sys/net/ipv4/ip_local_reserved_ports"


@dataclass
class Dumped:
    """A namespace's last table, what its counters said then, and when it falls due."""

    table: Table
    counts: dict[str, int]
    activity: str
    due: float


@dataclass
class Part:
    """One namespace's share of a poll: its table (None when it could not be read,
    with `reason`), its own range if it could be read, and notes."""

    namespace: Namespace
    table: Table | None
    ephemeral_range: EphemeralRange | None = None
    reason: str | None = None
    notes: tuple[str, ...] = ()


class NamespaceTables:
    """Handles and readers kept per namespace, by inode, between polls.

    `own` is the namespace the caller reads itself (no handle); every other one in the
    inventory gets a Part each poll. `procfs`: read `/proc/<pid>/net` everywhere (the
    collector's source is procfs), never a handle.
    """

    def __init__(
        self,
        own: int,
        proc_root: str = "/proc",
        *,
        tcp_info: bool = False,
        procfs: bool = False,
        rediscover_after: float = REDISCOVER_AFTER,
        refresh_after: float = REFRESH_AFTER,
        find: Callable[[], Inventory] = discover,
    ) -> None:
        self.own = own
        self.proc_root = proc_root
        self.tcp_info = tcp_info
        self.procfs = procfs
        self.rediscover_after = rediscover_after
        self.refresh_after = refresh_after
        self.find = find
        self._dumped: dict[int, Dumped] = {}
        self.inventory: Inventory | None = None
        self._found_at = 0.0
        self._handles: dict[int, NetnsHandle] = {}
        self._readers: dict[int, SockDiagReader] = {}
        self._refused: dict[int, str] = {}
        """Namespaces we may not enter, why; retried at the next discovery."""

    def read(self) -> tuple[Inventory, list[Part]]:
        """This poll's inventory, and a Part for every namespace but our own."""
        inventory = self._inventory()
        parts = [self._read(inventory, ns) for ns in inventory.namespaces if ns.inode != self.own]
        return inventory, parts

    def recount(self) -> set[int]:
        """The socket inodes of every namespace with a handle, now (for owners)."""
        inodes: set[int] = set()
        for inode, handle in list(self._handles.items()):
            try:
                inodes |= live_inodes(conn=handle.diag)
            except NetlinkUnavailable:
                self._drop(inode)
        return inodes

    def close(self) -> None:
        for inode in list(self._handles):
            self._drop(inode)

    def _inventory(self) -> Inventory:
        now = time.monotonic()
        if self.inventory is None or now - self._found_at >= self.rediscover_after:
            self.inventory, self._found_at = self.find(), now
            present = {ns.inode for ns in self.inventory.namespaces}
            for inode in set(self._handles) - present:
                self._drop(inode)
            self._refused.clear()
        return self.inventory

    def _read(self, inventory: Inventory, namespace: Namespace) -> Part:
        if self.procfs:
            return self._from_procfs(inventory, namespace, None)
        handle = self._handle(inventory, namespace)
        if handle is None:
            return self._from_procfs(inventory, namespace, self._refused.get(namespace.inode))
        try:
            ephemeral_range, notes = handle_range(handle)
            table = self._table(namespace.inode, handle)
        except OSError as exc:  # NetlinkUnavailable too: the socket is spoilt
            self._drop(namespace.inode)
            return Part(namespace, None, reason=f"reading it: {exc.strerror or exc}")
        return Part(namespace, table, ephemeral_range, notes=notes)

    def _table(self, inode: int, handle: NetnsHandle) -> Table:
        """The namespace's table now: its last one while its counters have not moved
        (and it is not due), else a dump of the families its sockstat counts."""
        counts = handle.inet_counts()
        if counts is not None and not any(counts.values()):
            self._dumped.pop(inode, None)
            return Table([], set(), [] if self.tcp_info else None)
        activity = handle.activity()
        now = time.monotonic()
        last = self._dumped.get(inode)
        quiet = last is not None and (last.counts, last.activity) == (counts, activity)
        if quiet and now < last.due and (last.table.infos is not None) == self.tcp_info:
            return last.table
        reader = self._readers[inode]
        reader.tcp_info = self.tcp_info
        skip = () if counts is None else empty_dumps(counts)
        table = reader.read(skip)
        phase = 0.5 + (inode % 97) / 194 if last is None else 1.0  # first dumps spread
        due = now + self.refresh_after * phase
        self._dumped[inode] = Dumped(table, counts or {}, activity, due)
        return table

    def _handle(self, inventory: Inventory, namespace: Namespace) -> NetnsHandle | None:
        """The kept handle, opened now if need be; None when entering is refused (the
        reason kept until the next discovery) or every way in has gone."""
        inode = namespace.inode
        handle = self._handles.get(inode)
        if handle is not None or inode in self._refused:
            return handle
        try:
            handle = open_handle(inventory, namespace)
        except NamespaceGone:
            self._refused[inode] = "gone since discovery"
            return None
        except OSError as exc:
            denied = exc.errno in (errno.EPERM, errno.EACCES)
            why = f"may not enter it: {SUDO_HINT}" if denied else f"entering: {exc.strerror}"
            self._refused[inode] = why
            return None
        self._handles[inode] = handle
        self._readers[inode] = SockDiagReader(conn=handle.diag, tcp_info=self.tcp_info)
        return handle

    def _from_procfs(self, inventory: Inventory, namespace: Namespace, refused: str | None) -> Part:
        """The namespace's tables from /proc/<pid>/net of a process still in it."""
        for pid in namespace.pids:
            base = f"{inventory.proc_root}/{pid}"
            try:
                rows, notes = read_tables(f"{base}/net")
                if link_inode(f"{base}/ns/net") != namespace.inode:
                    continue  # the pid was reused meanwhile
            except OSError:
                continue
            inodes = {row.inode for row in rows if row.inode}
            return Part(namespace, Table(rows, inodes), notes=tuple(notes))
        return Part(namespace, None, reason=refused or f"no process of it to read: {SUDO_HINT}")

    def _drop(self, inode: int) -> None:
        handle = self._handles.pop(inode, None)
        self._readers.pop(inode, None)
        self._dumped.pop(inode, None)
        if handle is not None:
            handle.close()


def handle_range(handle: NetnsHandle) -> tuple[EphemeralRange | None, tuple[str, ...]]:
    """The namespace's own range and reserved ports, through its kept files."""
    text = handle.read(RANGE_FILE)
    if text is None:
        return None, ()
    source = f"net.ipv4.ip_local_port_range of netns:{handle.inode}"
    found, notes = parse_range(text, handle.read(RESERVED_FILE) or "", source)
    return found, tuple(notes)


def empty_dumps(counts: dict[str, int]) -> set[int]:
    """The dumps (by index) that sockstat's `counts` say would come back empty."""
    return {i for i, needs in enumerate(DUMP_NEEDS) if not any(counts[n] for n in needs)}
