"""Shared by the traffic tests: loopback endpoints as the collector and `ss` name them,
and waiting until what a socket sent has been acknowledged."""

from __future__ import annotations

import fcntl
import socket
import termios
import time
from collections.abc import Iterable

from portscope.model import Snapshot, Socket
from ss import Ends

SETTLE_TIMEOUT = 10.0


def ends(sock: socket.socket) -> Ends:
    """A live socket's (local address, port, remote address, port)."""
    local, peer = sock.getsockname(), sock.getpeername()
    return (local[0], local[1], peer[0], peer[1])


def ends_of(sock: Socket) -> Ends:
    return (sock.local_address, sock.local_port, sock.remote_address or "", sock.remote_port or 0)


def unacknowledged(sock: socket.socket) -> int:
    """Bytes in the socket's send queue not yet acknowledged (SIOCOUTQ, which Linux
    also calls TIOCOUTQ): a witness that does not read tcp_info."""
    return int.from_bytes(fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4), "little")


def settle(*socks: socket.socket) -> None:
    """Wait until every byte these sockets sent has been acknowledged, so their counters
    stand still (a delayed ACK can take 40 ms)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while any(unacknowledged(s) for s in socks):
        if time.monotonic() > deadline:
            raise TimeoutError("the peers did not acknowledge everything sent")
        time.sleep(0.01)


def by_ends(snapshot: Snapshot, wanted: Iterable[Ends]) -> dict[Ends, Socket]:
    """The snapshot's connections with these endpoints."""
    keys = set(wanted)
    return {ends_of(s): s for s in snapshot.connections if ends_of(s) in keys}
