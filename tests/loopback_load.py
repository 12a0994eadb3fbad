"""A controlled loopback workload: N sockets held by a few worker processes, with churn.

Each worker listens on its own loopback address, connects `pairs` clients from that
address to itself (two sockets per pair: client and accepted server side) and, if asked, replaces
`churn` pairs per second. Replaced pairs are closed with SO_LINGER 0 so they leave no
TIME_WAIT behind and the socket count stays put; so are all pairs when the worker
exits, which it does when its stdin closes, so a dying benchmark leaves nothing behind.

Run directly only as a worker: `python workload.py ADDRESS PAIRS CHURN`.
"""

from __future__ import annotations

import collections
import resource
import selectors
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

LINGER_RESET = struct.pack("ii", 1, 0)
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
TICK = 0.05
READY_TIMEOUT = 120.0
FD_HEADROOM = 64


def raise_fd_limit(wanted: int) -> None:
    """Lift RLIMIT_NOFILE towards `wanted` (up to the hard limit; root may lift that too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def open_pair(listener: socket.socket) -> tuple[socket.socket, socket.socket]:
    """A connection from the listener's own address to itself: both ends stay on it."""
    address = listener.getsockname()
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    client.bind((address[0], 0))
    client.connect(address)
    server, _peer = listener.accept()
    return client, server


def reset_pair(pair: tuple[socket.socket, socket.socket]) -> None:
    for sock in pair:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        sock.close()


def serve(address: str, pairs: int, churn: float) -> None:
    """Worker body: hold `pairs` connections, replacing `churn` per second until stdin closes."""
    raise_fd_limit(2 * pairs + FD_HEADROOM)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((address, 0))
    listener.listen(4096)
    held = collections.deque(open_pair(listener) for _ in range(pairs))
    print(f"ready {listener.getsockname()[1]}", flush=True)
    watch = selectors.DefaultSelector()
    watch.register(sys.stdin, selectors.EVENT_READ)
    started = time.monotonic()
    replaced = 0
    while not watch.select(timeout=TICK):
        due = int((time.monotonic() - started) * churn) - replaced
        for _ in range(min(due, len(held))):
            held.append(open_pair(listener))  # before the reset: never fewer than promised
            reset_pair(held.popleft())
        replaced += max(due, 0)
    while held:
        reset_pair(held.popleft())


class LoopbackLoad:
    """`sockets` loopback TCP sockets across `workers` processes; closes them all on exit.
    `prefix(index)`: the command a worker runs behind (`ip netns exec NAME`, to hold
    its share in a namespace of its own); none by default."""

    def __init__(
        self,
        sockets: int,
        churn: float = 0.0,
        workers: int = 4,
        prefix: Callable[[int], list[str]] | None = None,
    ) -> None:
        self.sockets = sockets
        self.churn = churn
        self.prefix = prefix
        self.workers = max(1, min(workers, sockets // 2 or 1))
        self.procs: list[subprocess.Popen[str]] = []
        self.ports: list[tuple[str, int]] = []

    def __enter__(self) -> LoopbackLoad:
        pairs = self.sockets // 2
        for index in range(self.workers):
            address = f"127.0.0.{10 + index}"
            share = pairs // self.workers + (index < pairs % self.workers)
            behind = self.prefix(index) if self.prefix else []
            argv = [*behind, sys.executable, str(Path(__file__)), address, str(share)]
            argv.append(str(self.churn / self.workers))
            self.procs.append(
                subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            )
        try:
            for index, proc in enumerate(self.procs):
                self.ports.append((f"127.0.0.{10 + index}", self._ready_port(proc)))
        except BaseException:
            self.close()
            raise
        return self

    @staticmethod
    def _ready_port(proc: subprocess.Popen[str]) -> int:
        assert proc.stdout is not None
        watch = selectors.DefaultSelector()
        watch.register(proc.stdout, selectors.EVENT_READ)
        if not watch.select(timeout=READY_TIMEOUT):
            raise TimeoutError("workload worker did not get ready")
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "ready":
            raise RuntimeError(f"workload worker failed (exit {proc.poll()})")
        return int(line[1])

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
