"""What portscope keeps open in each network namespace, so a poll need not enter it.

Entering costs a thread and a setns; a netlink socket made inside stays bound to that
namespace for life, and so does a /proc file opened inside: /proc/sys/net shows the
namespace of the thread that opens it (not the process's, and not the one of the /proc
it is reached through: /proc/<pid>/root/proc/sys/net shows the reader's own), and
/proc/thread-self/net the thread's; an open one goes on reading its namespace's
current value from any thread. So one entry per namespace opens all of it, and every
poll after that reuses it from whichever thread polls.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from portscope.collect.counters import CONNTRACK_COUNT, CONNTRACK_MAX, read_kernel_counters
from portscope.collect.namespaces import Inventory, Namespace, link_inode
from portscope.collect.netlink import open_diag_socket
from portscope.collect.setns import NamespaceGone, run_in_netns
from portscope.collect.sockstat import parse_sockstat
from portscope.model import KernelCounters

PER_NAMESPACE_FILES = {
    "sys/net/ipv4/ip_local_port_range": "sys/net/ipv4/ip_local_port_range",
    "sys/net/ipv4/ip_local_reserved_ports": "sys/net/ipv4/ip_local_reserved_ports",
    "sys/net/ipv4/ip_unprivileged_port_start": "sys/net/ipv4/ip_unprivileged_port_start",
    "sys/net/ipv4/tcp_tw_reuse": "sys/net/ipv4/tcp_tw_reuse",
    "net/sockstat": "thread-self/net/sockstat",
    "net/sockstat6": "thread-self/net/sockstat6",
    "net/netstat": "thread-self/net/netstat",
    "net/snmp": "thread-self/net/snmp",
    "net/snmp6": "thread-self/net/snmp6",
    CONNTRACK_COUNT: CONNTRACK_COUNT,
    CONNTRACK_MAX: CONNTRACK_MAX,
}
"""Files whose content is the namespace's own: the name a process reads it by in its
own namespace (under /proc) -> where the entering thread opens it."""
INET_IN_USE = ("tcp_in_use", "tcp_time_wait", "udp_in_use", "tcp6_in_use", "udp6_in_use")
"""sockstat's per-namespace counts of every socket a sock_diag dump returns."""
READ_CHUNK = 1 << 16
T = TypeVar("T")


@dataclass
class NetnsHandle:
    """A namespace's sock_diag socket and its per-namespace /proc files, opened inside
    it; usable from any thread. After the socket raised, or when the namespace goes,
    close it (a dump left half read would leave replies in the socket)."""

    inode: int
    diag: socket.socket
    files: dict[str, int] = field(default_factory=dict)
    """Name (a key of PER_NAMESPACE_FILES) -> open fd; one the kernel lacks is absent."""

    def read(self, name: str) -> str | None:
        """The namespace's current content of file `name`, read afresh; None if not kept."""
        fd = self.files.get(name)
        if fd is None:
            return None
        text = b""
        while chunk := os.pread(fd, READ_CHUNK, len(text)):
            text += chunk
        return text.decode("ascii", "replace")

    def inet_counts(self) -> dict[str, int] | None:
        """The namespace's sockstat counts of each kind a dump returns (`INET_IN_USE`),
        or None if they cannot be read."""
        counts = parse_sockstat(
            (self.read("net/sockstat") or "") + (self.read("net/sockstat6") or "")
        )
        if not all(name in counts for name in INET_IN_USE):
            return None
        return {name: counts[name] for name in INET_IN_USE}

    def inet_sockets(self) -> int | None:
        """How many TCP/UDP sockets the namespace has (TIME_WAIT included), from its
        sockstat counters: 0 means a dump would come back empty, so it can be skipped
        (a dump walks the kernel's tables shared by every namespace, BENCHMARKS.md
        "Network namespaces"). None if the counters cannot be read."""
        counts = self.inet_counts()
        return None if counts is None else sum(counts.values())

    def activity(self) -> str:
        """The namespace's IP, TCP and UDP counters (segments, datagrams, opens, resets),
        as text: unchanged between two reads, and with the same socket counts, no
        packet moved and no connection opened there in between."""
        return (self.read("net/snmp") or "") + (self.read("net/snmp6") or "")

    def counters(self) -> tuple[KernelCounters, list[str]]:
        """The namespace's kernel counters and conntrack fill, read afresh, and notes on
        lines that were not counters."""
        return read_kernel_counters(self.read)

    def close(self) -> None:
        self.diag.close()
        for fd in self.files.values():
            os.close(fd)
        self.files.clear()


def open_inside(inode: int, proc_root: str = "/proc") -> NetnsHandle:
    """Open everything a handle holds, in the calling thread's namespace."""
    handle = NetnsHandle(inode, open_diag_socket())
    try:
        for name, where in PER_NAMESPACE_FILES.items():
            path = f"{proc_root}/{where}"
            if os.path.exists(path):
                handle.files[name] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        handle.close()
        raise
    return handle


def run_inside(inventory: Inventory, namespace: Namespace, job: Callable[[], T]) -> T:
    """`job()` run inside `namespace`, entered through the first of its files that
    still leads to it; what it opens there stays bound to it. PermissionError when
    entering is refused (no CAP_SYS_ADMIN: an unprivileged user); NamespaceGone when
    every way in has gone. Our own namespace needs no entering, so an unprivileged
    user can run a job in it too."""
    if namespace.inode == link_inode(f"{inventory.proc_root}/thread-self/ns/net"):
        return job()
    for path in inventory.entry_paths(namespace):
        try:
            return run_in_netns(path, job, namespace.inode)
        except NamespaceGone:
            continue
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                raise
    raise NamespaceGone(errno.ENOENT, f"network namespace {namespace.name}: no way in left")


def open_handle(inventory: Inventory, namespace: Namespace) -> NetnsHandle:
    """A handle on `namespace` (see `run_inside` for what it raises)."""
    proc = inventory.proc_root
    return run_inside(inventory, namespace, lambda: open_inside(namespace.inode, proc))
