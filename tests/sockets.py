"""Real sockets on loopback for tests and benchmarks: listeners, connections, peers."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
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

    def release(self, sock: socket.socket) -> None:
        """Close one socket now (its kernel side may linger, e.g. in TIME_WAIT)."""
        self.sockets.remove(sock)
        sock.close()

    def tcp_listener(
        self, host: str = "127.0.0.1", port: int = 0, backlog: int = 128, v6only: bool = True
    ) -> socket.socket:
        """A listener; `v6only=False` on `::` also accepts IPv4 (as ::ffff:a.b.c.d)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = self._keep(socket.socket(family, socket.SOCK_STREAM))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host in ("::", "::1"):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
        sock.bind((host, port))
        sock.listen(backlog)
        return sock

    def udp_socket(
        self, host: str = "127.0.0.1", port: int = 0, reuse_port: bool = False
    ) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = self._keep(socket.socket(family, socket.SOCK_DGRAM))
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        return sock

    def connect(
        self, listener: socket.socket, count: int = 1, host: str | None = None
    ) -> list[tuple[socket.socket, socket.socket]]:
        """`count` established pairs (client, accepted server side) to `listener`,
        dialled at `host` (default: the listener's own address)."""
        bound, port = listener.getsockname()[:2]
        host = host or bound
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        pairs = []
        for _ in range(count):
            client = self._keep(socket.socket(family, socket.SOCK_STREAM))
            client.connect((host, port))
            server, _addr = listener.accept()
            pairs.append((client, self._keep(server)))
        return pairs

    def connect_from(
        self, listener: socket.socket, port: int = 0
    ) -> tuple[socket.socket, socket.socket]:
        """One established pair whose client is bound to `port` on the listener's
        address first (SO_REUSEADDR): the same 4-tuple again after a reset."""
        client = self._keep(socket.socket(listener.family, socket.SOCK_STREAM))
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        client.bind((listener.getsockname()[0], port))
        client.connect(listener.getsockname()[:2])
        server, _addr = listener.accept()
        return client, self._keep(server)

    def reset(self, sock: socket.socket) -> None:
        """Close one socket with a reset (SO_LINGER 0): no TIME_WAIT is left behind."""
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.release(sock)

    def connect_pending(self, listener: socket.socket, count: int) -> list[socket.socket]:
        """`count` non-blocking connects that nobody accepts (SYN_SENT once the queue is full)."""
        clients = []
        for _ in range(count):
            client = self._keep(socket.socket(listener.family, socket.SOCK_STREAM))
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect(listener.getsockname()[:2])
            clients.append(client)
        return clients


def pour(sender: socket.socket, receiver: socket.socket, size: int) -> None:
    """Send exactly `size` bytes from `sender` and read all of them at `receiver`
    (the sending in a thread, so neither side's buffers can stall the other)."""
    writer = threading.Thread(target=sender.sendall, args=(b"\x5a" * size,))
    writer.start()
    got = 0
    while got < size:
        chunk = receiver.recv(min(1 << 20, size - got))
        if not chunk:
            raise ConnectionError(f"peer closed after {got} of {size} bytes")
        got += len(chunk)
    writer.join()
