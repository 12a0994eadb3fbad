"""Sockets as the kernel frees them: sock_diag's destroy broadcasts, which `ss -E` prints.

A poll sees the sockets that exist at that moment; a connection that opens and closes
between two polls leaves no trace in any table. The kernel, though, can announce every
inet socket it destroys to a NETLINK_SOCK_DIAG socket bound to its multicast groups
(Linux 4.5 and later), with the socket's final tcp_info. The socket hears its own
network namespace only, every user's sockets in it. The kernel lets an unprivileged
process join too (tested on Linux 6.18); a kernel or sandbox that refuses says so at
bind().
"""

from __future__ import annotations

import errno
import socket
import time

from portscope.collect.netlink import Ended, NetlinkUnavailable, ended_sockets, open_diag_socket

SKNLGRP_INET_TCP_DESTROY = 1
SKNLGRP_INET_UDP_DESTROY = 2
SKNLGRP_INET6_TCP_DESTROY = 3
SKNLGRP_INET6_UDP_DESTROY = 4
DESTROY_GROUPS = sum(
    1 << (group - 1)
    for group in (
        SKNLGRP_INET_TCP_DESTROY,
        SKNLGRP_INET_UDP_DESTROY,
        SKNLGRP_INET6_TCP_DESTROY,
        SKNLGRP_INET6_UDP_DESTROY,
    )
)
"""The bind() group mask for all four (group N is bit N-1), as `ss -E` asks."""
RECEIVE_BUFFER = 8 << 20
"""Socket buffer for bursts: ten seconds of both ends' messages at 1,000 connections a
second, should the reader fall behind (BENCHMARKS.md, "Behind the code")."""
READ_SIZE = 1 << 16
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


class EventsLost(Exception):
    """The kernel dropped destroy messages (ENOBUFS): the reader fell too far behind."""


class DestroyFeed:
    """A socket on the destroy broadcasts of the network namespace it is made in.

    `receive` blocks for at most `timeout` seconds, so a thread reading it can be told
    to stop (0: it never blocks, for a reader that waits on a selector); opening raises
    NetlinkUnavailable when the kernel or privileges refuse.
    """

    def __init__(self, timeout: float = 0.5) -> None:
        conn = open_diag_socket()
        try:
            conn.bind((0, DESTROY_GROUPS))
        except OSError as exc:
            conn.close()
            reason = f"joining sock_diag's destroy groups was refused ({exc.strerror or exc})"
            raise NetlinkUnavailable(exc.errno or errno.EIO, reason) from None
        try:
            conn.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except OSError:  # without CAP_NET_ADMIN; the plain option is capped by rmem_max
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        conn.settimeout(timeout)
        self._conn = conn

    def receive(self) -> tuple[float, list[Ended]]:
        """The time they arrived and the sockets in the next buffer of messages (an empty
        list when none came within the timeout). EventsLost when the kernel dropped some."""
        try:
            buffer = self._conn.recv(READ_SIZE)
        except (TimeoutError, BlockingIOError):
            return time.time(), []
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                raise EventsLost from None
            raise
        return time.time(), ended_sockets(buffer)

    def fileno(self) -> int:
        """For a selector waiting on several feeds (`destroy_feeds`)."""
        return self._conn.fileno()

    def close(self) -> None:
        self._conn.close()
