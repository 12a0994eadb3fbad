"""Processes that exit around and during a poll: never a failed poll, never a stale owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from conftest import cli_env
from portscope.collect import Collector
from portscope.poller import Poller, PollUpdate

LOOPBACK = "127.0.0.1"
CHURN_ADDRESS = "127.2.0.1"
"""Loopback address only the churn children bind, so their sockets can be recognised."""

HOLDER = """
import os, socket, sys, time
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
if sys.argv[1] == "fork" and os.fork() == 0:
    line = f"{os.getpid()}\\n"
else:
    line = f"{os.getpid()} {sock.getsockname()[1]}\\n"
os.write(1, line.encode())  # one write, so parent and child lines never interleave
time.sleep(60)
"""

CHURN = """
import os, random, socket, sys, time
deadline = time.monotonic() + 60
children = set()
print("ready", flush=True)
while time.monotonic() < deadline:
    pid = os.fork()
    if pid == 0:
        sock = socket.socket()
        sock.bind((sys.argv[1], 0))
        sock.listen()
        time.sleep(random.random() * 0.02)
        os._exit(0)
    children.add(pid)
    while len(children) >= 8:
        children.discard(os.wait()[0])
"""


def start(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )


def stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()


@pytest.fixture
def churn() -> Iterator[None]:
    """Short-lived processes, each briefly holding a listener, born and reaped nonstop."""
    proc = start(CHURN, CHURN_ADDRESS)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    yield
    stop(proc)


def listener_owner(collector: Collector, port: int) -> int | None:
    snap = collector.collect()
    (sock,) = [s for s in snap.listeners if s.local_port == port and s.local_address == LOOPBACK]
    return sock.pid


@pytest.mark.parametrize("source", ["procfs", "psutil"])
def test_polls_survive_processes_exiting_mid_poll(churn: None, source: str) -> None:
    collector = Collector(source=source)  # type: ignore[arg-type]
    seen = 0
    for _ in range(6):
        snap = collector.collect()
        assert not snap.errors
        seen += sum(1 for s in snap.listeners if s.local_address == CHURN_ADDRESS)
    assert seen, "the churn never showed up, so nothing was exercised"


async def test_owner_gone_between_polls_is_removed() -> None:
    holder = start(HOLDER, "single")
    assert holder.stdout is not None
    pid, port = (int(x) for x in holder.stdout.readline().split())
    poller = Poller(Collector().collect)
    first = await poller.poll_once()
    assert isinstance(first, PollUpdate)
    assert [s.pid for s in first.snapshot.listeners if s.key[2:4] == (LOOPBACK, port)] == [pid]
    stop(holder)
    second = await poller.poll_once()
    assert isinstance(second, PollUpdate)
    assert [s.pid for s in second.delta.removed if s.key[2:4] == (LOOPBACK, port)] == [pid]


def test_shared_socket_passes_to_the_survivor() -> None:
    """A listener held by a parent and its forked child: when the holder we named
    exits, the next poll (same caches) names the survivor, not the dead pid."""
    parent = start(HOLDER, "fork")
    assert parent.stdout is not None
    lines = [[int(x) for x in parent.stdout.readline().split()] for _ in range(2)]
    (parent_pid, port), (child_pid,) = sorted(lines, key=len, reverse=True)
    collector = Collector()
    try:
        assert listener_owner(collector, port) == min(parent_pid, child_pid)
        os.kill(parent_pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert listener_owner(collector, port) == child_pid
    finally:
        os.kill(child_pid, signal.SIGKILL)
        stop(parent)
