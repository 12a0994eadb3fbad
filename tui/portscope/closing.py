"""Closing one TCP connection as `ss -K` does: sock_diag's SOCK_DESTROY, the process that
holds it left running.

The connection is named by the `Socket` the user confirmed, from an earlier poll. Just
before closing, the kernel's table is read again and that socket must still be there:
the same ends, and the same socket (`Socket.continues`: its inode, or a state that has
not gone back), or nothing is done. The request then names it by the kernel's own id,
cookie included, so a socket replaced in the instant between is refused by the kernel
itself. Blocking (a netlink dump): call it from a worker thread, never the event loop.

A connection of another network namespace is read and destroyed through a sock_diag
socket opened inside that namespace (`nshandle.open_handle`, which enters it on a thread
of its own): a netlink socket acts on the namespace it was made in, whichever thread
then uses it.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from portscope.collect import own_netns
from portscope.collect.namespaces import discover
from portscope.collect.netlink import (
    NetlinkUnavailable,
    destroy_socket,
    diag_socket,
    find_sockets,
)
from portscope.collect.nshandle import NetnsHandle, open_handle
from portscope.collect.procnet import RawSocket
from portscope.collect.setns import NamespaceGone
from portscope.model import Socket, endpoint
from portscope.sanitise import printable

FAMILIES = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
KERNEL_REFUSALS = {
    errno.EPERM: "closing a connection needs CAP_NET_ADMIN (run portscope as root)",
    errno.EOPNOTSUPP: "this kernel cannot close sockets (built without CONFIG_INET_DIAG_DESTROY)",
    errno.ENOENT: "its identity changed: it closed or was replaced just now",
    errno.ESTALE: "its identity changed: another socket has its addresses now",
}


class CloseRefused(Exception):
    """A connection that was not closed; the message is a plain sentence for the user."""


def connection_label(sock: Socket) -> str:
    """`tcp 127.0.0.1:40000 -> 127.0.0.1:5000`: both ends, as text (never markup)."""
    ends = f"{endpoint(sock.local_address, sock.local_port)} -> "
    return printable(f"{sock.proto} {ends}{endpoint(sock.remote_address, sock.remote_port)}")


def holder_label(sock: Socket) -> str:
    if sock.owner is not None:
        return f"{printable(sock.owner.name, 40) or '?'} (pid {sock.owner.pid})"
    if sock.inode == 0:
        return "no process (its owner has closed it)"
    return "a process this user cannot see"


def described(sock: Socket) -> str:
    """Both ends, the state and the process: what a confirmation names."""
    return f"{connection_label(sock)} ({sock.state_label}), held by {holder_label(sock)}"


CONSEQUENCES = (
    "the connection is aborted at both ends (the peer gets a reset); the process keeps running"
)


def confirmation(sock: Socket) -> str:
    """The question to ask before closing one connection."""
    return f"Close {described(sock)}? {CONSEQUENCES[0].upper()}{CONSEQUENCES[1:]}."


def close_refusal(sock: Socket) -> str | None:
    """Why this socket cannot be closed at all, or None: what a row can say up front."""
    if sock.proto != "tcp":
        return "only TCP connections can be closed: UDP has no connection to abort"
    if sock.is_listener:
        return "that is a listener; stop its process to close it"
    if sock.inode is None:
        return "this socket source gives no inode, so its identity cannot be checked"
    if sock.family not in FAMILIES:
        return f"unknown address family {sock.family!r}"
    return None


def close_connection(sock: Socket, conn: socket.socket | None = None) -> str:
    """Close `sock` (in `conn`'s network namespace, else ours) if it is still the same
    socket; returns what was done, raises CloseRefused saying why not."""
    label = connection_label(sock)
    reason = close_refusal(sock)
    if reason:
        raise CloseRefused(f"Not closed: {label}: {reason}.")
    if conn is None and sock.netns and sock.netns != own_netns():
        with inside(sock.netns, label) as handle:
            return close_connection(sock, handle.diag)
    family = FAMILIES[sock.family]
    dump = (family, socket.IPPROTO_TCP, sock.proto, sock.family)

    ends = (sock.local_address, sock.local_port, sock.remote_address, sock.remote_port)

    def same_ends(row: RawSocket) -> bool:
        return (row.local_address, row.local_port, row.remote_address, row.remote_port) == ends

    try:
        with diag_socket(conn) as diag:
            found = find_sockets(diag, dump, same_ends)
            if not found:
                raise CloseRefused(f"Not closed: {label}: its identity changed: it is gone.")
            same = [(row, sockid) for row, sockid in found if still(sock, row)]
            if len(same) != 1:
                raise CloseRefused(
                    f"Not closed: {label}: its identity changed: another socket has its "
                    "addresses now."
                )
            row, sockid = same[0]
            try:
                destroy_socket(diag, family, socket.IPPROTO_TCP, sockid)
            except OSError as exc:
                why = KERNEL_REFUSALS.get(exc.errno or 0) or printable(exc.strerror or str(exc))
                raise CloseRefused(f"Not closed: {label}: {why}.") from None
    except NetlinkUnavailable as exc:
        why = printable(exc.strerror or str(exc))
        raise CloseRefused(f"Not closed: {label}: sock_diag is not available ({why}).") from None
    return f"Closed {label} ({row.state or sock.state_label})."


@contextmanager
def inside(netns: int, label: str) -> Iterator[NetnsHandle]:
    """A handle opened inside network namespace `netns` (its sock_diag socket acts
    there), closed afterwards; CloseRefused when it cannot be entered or is gone."""
    gone = f"Not closed: {label}: its network namespace (netns:{netns}) is gone."
    inventory = discover()
    namespace = next((ns for ns in inventory.namespaces if ns.inode == netns), None)
    if namespace is None:
        raise CloseRefused(gone)
    try:
        handle = open_handle(inventory, namespace)
    except NamespaceGone:
        raise CloseRefused(gone) from None
    except OSError as exc:
        why = (
            "entering another network namespace needs root (CAP_SYS_ADMIN)"
            if exc.errno in (errno.EPERM, errno.EACCES)
            else f"entering its network namespace: {printable(exc.strerror or str(exc))}"
        )
        raise CloseRefused(f"Not closed: {label}: {why}.") from None
    try:
        yield handle
    finally:
        handle.close()


def still(sock: Socket, row: RawSocket) -> bool:
    """Whether the kernel's row now is `sock` later in its life (see `Socket.continues`)."""
    now = Socket(*row[:7], inode=row.inode, netns=sock.netns)  # read in its namespace
    return now.key == sock.key and now.continues(sock)
