"""The dashboard's per-poll port counts, following each poll's Delta.

Recounting them over every connection cost the event loop many times more per poll at
20,000 connections than following the Delta, which holds only the sockets that moved
(BENCHMARKS.md, "Behind the code"). No textual here.
"""

from __future__ import annotations

from collections.abc import Iterable

from portscope.analysis.tally import Tally, bump, bump_within
from portscope.model import TIME_WAIT, Socket

PortKey = tuple[str, int, int]
"""(proto, port, netns): a listening port in its own network namespace."""


class PortUse(Tally):
    """Connections on each listening (proto, port), and the ephemeral ports lent out."""

    def _clear(self) -> None:
        self._peers: dict[PortKey, int] = {}
        self._lent: dict[int, dict[int, int]] = {}
        """netns -> port -> connections that borrowed it."""

    def _count(self, sockets: Iterable[Socket], sign: int) -> None:
        is_ephemeral = self.snapshot.is_ephemeral
        peers, lent = self._peers, self._lent
        for sock in sockets:
            if sock.is_listener:
                continue
            if sock.state != TIME_WAIT:
                bump(peers, (sock.proto, sock.local_port, sock.netns), sign)
            if is_ephemeral(sock):
                bump_within(lent, sock.netns, sock.local_port, sign)

    def peers(self) -> dict[PortKey, int]:
        """Connections per listening (proto, port), for the `conns` column: every one
        the kernel still has on that port, handshaking, waiting in the accept queue,
        established or closing (CLOSE_WAIT: the peer hung up and the server has not),
        but TIME_WAIT, the kernel's remnant of a connection that is over. Connected UDP
        sockets on the port count too."""
        counts = self._peers
        return {key: n for key in self.snapshot.listening_ports if (n := counts.get(key))}

    @property
    def lent(self) -> int:
        """Distinct local ports of the range in use by connections that borrowed them
        (`Snapshot.is_ephemeral`) in the snapshot's own namespace, whose range is the
        top-level one: what the header's gauge shows against it."""
        return len(self._lent.get(self.snapshot.home, ()))

    def lent_by_netns(self) -> dict[int, int]:
        """Distinct ports lent, per namespace inode (each against its own range)."""
        return {netns: len(ports) for netns, ports in self._lent.items()}
