"""When the dashboard first saw each socket: what the age column counts from, and what
makes a row new.

Kept for every socket the polls report, whatever a pane shows, so a row that comes into
view later (`a` for every connection, a rebuild) shows the socket's real age and is not
taken for a new one. It follows each poll's Delta: a socket that took over the key of
another (`Delta.replaced`, a 4-tuple reused after TIME_WAIT) is seen anew. No textual here.
"""

from __future__ import annotations

from portscope.delta import Delta
from portscope.model import SocketKey


class Arrivals:
    """First-seen times by `Socket.key` of the sockets that appeared after the first
    poll; every other socket the polls report was there from the start."""

    def __init__(self, now: float) -> None:
        self.started = now
        self._since: dict[SocketKey, float] = {}

    def follow(self, delta: Delta, now: float) -> None:
        """Move to the poll `delta` leads to, shown at `now`."""
        since = self._since
        for sock in delta.removed:
            since.pop(sock.key, None)
        for part in (delta.added, delta.replaced):
            for sock in part:
                since[sock.key] = now

    def first_seen(self, key: SocketKey) -> float:
        """When the socket now at `key` was first seen (the first poll's time for one
        that was there from the start)."""
        return self._since.get(key, self.started)

    def arrived(self, key: SocketKey) -> bool:
        """Whether the socket at `key` appeared after the first poll: a new one."""
        return key in self._since
