"""What portscope keeps open in each network namespace, so a poll need not enter it.

Entering costs a thread and a setns; a netlink socket made inside stays bound to that
namespace for life, and so does a /proc/sys/net file opened inside: /proc/sys/net
shows the namespace of the thread that opens it (not the process's, and not the one
of the /proc it is reached through: /proc/<pid>/root/proc/sys/net shows the reader's
own), and an open one goes on reading its namespace's value from any thread. So one
entry per namespace opens all of it, and every poll after that reuses it from
whichever thread polls.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass, field

from portscope.collect.namespaces import Inventory, Namespace, link_inode
from portscope.collect.netlink import open_diag_socket
from portscope.collect.setns import NamespaceGone, run_in_netns

PER_NAMESPACE_SYSCTLS = (
    "ipv4/ip_local_port_range",
    "ipv4/ip_local_reserved_ports",
    "ipv4/ip_unprivileged_port_start",
)
"""/proc/sys/net files whose value is the namespace's own."""
SYSCTL_ROOT = "/proc/sys/net"
READ_CHUNK = 1 << 16


@dataclass
class NetnsHandle:
    """A namespace's sock_diag socket and its per-namespace sysctl files, opened inside
    it; readable from any thread. Close it when the namespace goes."""

    inode: int
    diag: socket.socket
    sysctls: dict[str, int] = field(default_factory=dict)
    """Name (as in PER_NAMESPACE_SYSCTLS) -> open fd; a file the kernel lacks is absent."""

    def sysctl(self, name: str) -> str | None:
        """The namespace's current value of `name`, read afresh; None if not kept."""
        fd = self.sysctls.get(name)
        if fd is None:
            return None
        text = b""
        while chunk := os.pread(fd, READ_CHUNK, len(text)):
            text += chunk
        return text.decode("ascii", "replace")

    def close(self) -> None:
        self.diag.close()
        for fd in self.sysctls.values():
            os.close(fd)
        self.sysctls.clear()


def open_inside(inode: int) -> NetnsHandle:
    """Open everything a handle holds, in the calling thread's namespace."""
    handle = NetnsHandle(inode, open_diag_socket())
    try:
        for name in PER_NAMESPACE_SYSCTLS:
            path = f"{SYSCTL_ROOT}/{name}"
            if os.path.exists(path):
                handle.sysctls[name] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        handle.close()
        raise
    return handle


def open_handle(inventory: Inventory, namespace: Namespace) -> NetnsHandle:
    """A handle on `namespace`, entered through the first of its files that still leads
    to it. PermissionError when entering is refused (no CAP_SYS_ADMIN: an unprivileged
    user); NamespaceGone when every way in has gone. Our own namespace needs no
    entering, so an unprivileged user gets a handle on it too."""
    if namespace.inode == link_inode(f"{inventory.proc_root}/thread-self/ns/net"):
        return open_inside(namespace.inode)
    for path in inventory.entry_paths(namespace):
        try:
            return run_in_netns(path, lambda: open_inside(namespace.inode), namespace.inode)
        except NamespaceGone:
            continue
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                raise
    raise NamespaceGone(errno.ENOENT, f"network namespace {namespace.name}: no way in left")
