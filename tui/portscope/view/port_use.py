"""The dashboard's per-poll port counts, following each poll's Delta.

Recounting them over every connection cost the event loop many times more per poll at
20,000 connections than following the Delta, which holds only the sockets that moved
(BENCHMARKS.md, "Behind the code"). No textual here.
"""

from __future__ import annotations

from collections.abc import Iterable

from portscope.analysis.tally import Tally, bump
from portscope.model import ESTABLISHED, Socket

PortKey = tuple[str, int]
PEER_STATES = (None, ESTABLISHED)
"""States that count as a listener's peer: established TCP, and connected UDP."""


class PortUse(Tally):
    """Peers of each listening (proto, port), and the ephemeral ports lent out."""

    def _clear(self) -> None:
        self._peers: dict[PortKey, int] = {}
        self._lent: dict[int, int] = {}

    def _count(self, sockets: Iterable[Socket], sign: int) -> None:
        is_ephemeral = self.snapshot.is_ephemeral
        peers, lent = self._peers, self._lent
        for sock in sockets:
            if sock.is_listener:
                continue
            if sock.state in PEER_STATES:
                bump(peers, (sock.proto, sock.local_port), sign)
            if is_ephemeral(sock):
                bump(lent, sock.local_port, sign)

    def peers(self) -> dict[PortKey, int]:
        """Established connections per listening (proto, port), for the `conns` column."""
        counts = self._peers
        return {key: n for key in self.snapshot.listening_ports if (n := counts.get(key))}

    @property
    def lent(self) -> int:
        """Distinct local ports of the range in use by connections that borrowed them
        (`Snapshot.is_ephemeral`): what the header's gauge shows."""
        return len(self._lent)
