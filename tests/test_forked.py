"""The first poll's owner search in a forked child: same answer as searching here, and a
child that fails, dies or hangs only sends the poll back to searching itself."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import portscope.collect as collect
from portscope.collect import Collector
from portscope.collect.forked import call_forked, can_fork
from portscope.model import Snapshot
from sockets import SocketFarm

pytestmark = [
    pytest.mark.skipif(not can_fork(), reason="needs fork and a second CPU"),
    pytest.mark.timeout(60),
]

HELD_PAST_SELECT = 1100
"""Descriptors held open, so that the next one is past select(2)'s FD_SETSIZE (1024)."""
HOLDER = """
import socket, sys, time
held = []
for _ in range(int(sys.argv[1])):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    held.append(sock)
print(" ".join(str(s.getsockname()[1]) for s in held), flush=True)
time.sleep(60)
"""


def gone(pid: int) -> bool:
    """Reaped: not even a zombie is left of it."""
    return not os.path.exists(f"/proc/{pid}")


def test_the_result_is_computed_in_another_process() -> None:
    assert call_forked(os.getpid, 10.0) not in (None, os.getpid())


def test_a_child_that_raises_yields_none_and_is_reaped() -> None:
    reader, writer = os.pipe()

    def fail() -> int:
        os.write(writer, str(os.getpid()).encode())
        raise RuntimeError("boom")

    assert call_forked(fail, 10.0) is None
    os.close(writer)
    with os.fdopen(reader) as pipe:
        assert gone(int(pipe.read()))


def test_a_killed_child_yields_none() -> None:
    def die() -> int:
        os.kill(os.getpid(), signal.SIGKILL)
        return 0

    assert call_forked(die, 10.0) is None


def test_a_hanging_child_is_killed_and_reaped() -> None:
    reader, writer = os.pipe()

    def hang() -> int:
        os.write(writer, str(os.getpid()).encode())
        time.sleep(60)
        return 0

    assert call_forked(hang, 0.5) is None
    os.close(writer)
    with os.fdopen(reader) as pipe:
        assert gone(int(pipe.read()))


def test_a_result_that_cannot_be_pickled_yields_none() -> None:
    assert call_forked(lambda: lambda: None, 10.0) is None


@pytest.fixture
def holder() -> Iterator[tuple[int, set[int]]]:
    """Another process holding loopback listeners: (its pid, their ports)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, "20"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.pid, {int(port) for port in proc.stdout.readline().split()}
    finally:
        proc.kill()
        proc.wait()


def owners(snapshot: Snapshot) -> dict[tuple[str, int, str | None, int | None], int | None]:
    return {
        (s.local_address, s.local_port, s.remote_address, s.remote_port): s.pid
        for s in snapshot.sockets
        if s.inode
    }


def test_forked_search_places_what_a_plain_search_places(
    farm: SocketFarm, holder: tuple[int, set[int]]
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener, 100)
    port = listener.getsockname()[1]
    holder_pid, holder_ports = holder
    collector = Collector(fork_first_scan=True)
    asked = collector.inode_owners
    forked = collector.collect()
    assert collector.inode_owners is not asked  # the child's, taken back
    plain = Collector().collect()
    ours = {
        key: pid
        for key, pid in owners(plain).items()
        if port in (key[1], key[3]) or key[1] in holder_ports
    }
    assert len(ours) == 201 + len(holder_ports)
    assert set(ours.values()) == {os.getpid(), holder_pid}
    assert {k: v for k, v in owners(forked).items() if k in ours} == ours


def test_later_polls_build_on_the_childs_tables(farm: SocketFarm) -> None:
    """The adopted fd tables are this collector's from then on: new sockets are found
    the way every later poll finds them, without a full rescan."""
    collector = Collector(fork_first_scan=True)
    collector.collect()
    tables = collector.inode_owners.fd_tables
    assert len(tables) > 1
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener, 5)
    port = listener.getsockname()[1]
    later = collector.collect()
    ours = [s for s in later.sockets if port in (s.local_port, s.remote_port)]
    assert len(ours) == 11
    assert {s.pid for s in ours} == {os.getpid()}
    assert collector.inode_owners.fd_tables is tables


def test_a_child_out_of_time_leaves_the_search_to_the_poll(
    farm: SocketFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collect, "FORKED_SCAN_DEADLINE", 0.0)
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener, 10)
    port = listener.getsockname()[1]
    collector = Collector(fork_first_scan=True)
    asked = collector.inode_owners
    snapshot = collector.collect()
    assert collector.inode_owners is asked
    ours = [s for s in snapshot.sockets if port in (s.local_port, s.remote_port)]
    assert len(ours) == 21
    assert {s.pid for s in ours} == {os.getpid()}


def test_a_parent_holding_more_than_1024_descriptors_still_gets_the_result() -> None:
    """A collector of 100 namespaces holds a socket and files for each: the pipe's
    descriptor is past select(2)'s limit, and the first poll must not fail for it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < HELD_PAST_SELECT + 64:
        pytest.skip(f"the hard limit on descriptors ({hard}) is below {HELD_PAST_SELECT}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, HELD_PAST_SELECT + 64), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(HELD_PAST_SELECT)]
    try:
        assert max(held) >= 1024
        assert call_forked(os.getpid, 10.0) not in (None, os.getpid())
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
