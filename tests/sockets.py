"""Real sockets on loopback for tests and benchmarks: listeners, connections, peers."""

from __future__ import annotations

import socket
from types import TracebackType


class SocketFarm:
    """Opens sockets on loopback and closes every one of them on exit."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []

    def __enter__(self) -> SocketFarm:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()

    def _keep(self, sock: socket.socket) -> socket.socket:
        self.sockets.append(sock)
        return sock

    def tcp_listener(
        self, host: str = "127.0.0.1", port: int = 0, backlog: int = 128
    ) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = self._keep(socket.socket(family, socket.SOCK_STREAM))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host in ("::", "::1"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        return sock

    def udp_socket(self, host: str = "127.0.0.1", port: int = 0) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = self._keep(socket.socket(family, socket.SOCK_DGRAM))
        sock.bind((host, port))
        return sock

    def connect(
        self, listener: socket.socket, count: int = 1
    ) -> list[tuple[socket.socket, socket.socket]]:
        """`count` established pairs (client, accepted server side) to `listener`."""
        host, port = listener.getsockname()[:2]
        pairs = []
        for _ in range(count):
            client = self._keep(socket.socket(listener.family, socket.SOCK_STREAM))
            client.connect((host, port))
            server, _addr = listener.accept()
            pairs.append((client, self._keep(server)))
        return pairs

    def connect_unaccepted(self, listener: socket.socket) -> socket.socket:
        """A client whose connection waits in `listener`'s accept queue."""
        host, port = listener.getsockname()[:2]
        client = self._keep(socket.socket(listener.family, socket.SOCK_STREAM))
        client.connect((host, port))
        return client
