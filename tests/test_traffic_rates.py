"""Rates between polls of real loopback connections: they agree with the bytes moved,
sum per process and destination across processes, survive a socket closed between
polls, and a reused 4-tuple starts a series of its own instead of a wrong rate."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from conftest import cli_env
from loopback_load import LoopbackLoad
from portscope.analysis import traffic
from portscope.analysis.closewait import process_key
from portscope.analysis.tcp_health import IDLE
from portscope.analysis.traffic import TrafficReport, TrafficTracker, single_reading
from portscope.collect import Collector
from sockets import SocketFarm, pour
from traffic_support import by_ends, ends, settle

LINGER_RESET = struct.pack("ii", 1, 0)


class Polls:
    """One collector with tcp_info and one tracker, polled when told."""

    def __init__(self) -> None:
        self.collector = Collector(tcp_info=True)
        self.tracker = TrafficTracker()

    def poll(self) -> TrafficReport:
        return self.tracker.update(self.collector.collect())


def connection_of(report: TrafficReport, sock: socket.socket):  # type: ignore[no-untyped-def]
    (found,) = by_ends(report.snapshot, [ends(sock)]).values()
    traffic = report.connection(found)
    assert traffic is not None
    return traffic


def test_a_rate_between_two_polls_is_the_bytes_moved_over_the_interval(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    polls = Polls()
    settle(client, server)
    first = polls.poll()
    seen_once = connection_of(first, client)
    assert seen_once.rate is None and seen_once.info.bytes_acked == 1  # totals, no rate yet
    pour(client, server, 3_000_000)
    pour(server, client, 700_000)
    settle(client, server)
    second = polls.poll()
    assert second.interval == second.taken_at - first.taken_at
    sent, answered = connection_of(second, client).rate, connection_of(second, server).rate
    assert sent is not None and answered is not None
    assert sent.sent * second.interval == pytest.approx(3_000_000, rel=1e-9)
    assert sent.received * second.interval == pytest.approx(700_000, rel=1e-9)
    assert answered.sent * second.interval == pytest.approx(700_000, rel=1e-9)
    assert answered.received * second.interval == pytest.approx(3_000_000, rel=1e-9)
    third = polls.poll()  # nothing moved since: a rate of zero, not none
    assert connection_of(third, client).rate == IDLE


WORKER = """
import fcntl, socket, sys, termios, time
def unacked(s):
    return int.from_bytes(fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\\0" * 4), "little")
plan = [(int(port), int(size)) for port, size in (arg.split(":") for arg in sys.argv[2:])]
held = [(socket.create_connection(("127.0.0.1", port)), size)
        for port, size in plan for _ in range(int(sys.argv[1]))]
print(" ".join(str(s.getsockname()[1]) for s, _ in held), flush=True)
sys.stdin.readline()
for s, size in held:
    s.sendall(b"w" * size)
while any(unacked(s) for s, _ in held):
    time.sleep(0.01)
print("sent", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=30)


def test_sums_per_process_and_destination_over_several_processes(
    farm: SocketFarm, workers: list[subprocess.Popen[str]]
) -> None:
    """Three processes each open two connections to each of two listeners and send a
    size of each listener's own; every process and both destinations add up, and
    processes, destinations and the namespace agree with each other."""
    near, far = farm.tcp_listener("127.0.0.1"), farm.tcp_listener("127.0.0.1")
    sizes = {near.getsockname()[1]: 40_000, far.getsockname()[1]: 25_000}
    plan = [f"{port}:{size}" for port, size in sizes.items()]
    for _ in range(3):
        workers.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, "2", *plan],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=cli_env(),
            )
        )
    for proc in workers:
        assert proc.stdout is not None
        proc.stdout.readline()  # connected
    for listener in (near, far):
        for _ in range(6):
            farm.sockets.append(listener.accept()[0])
    polls = Polls()
    first = polls.poll()
    for proc in workers:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in workers:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "sent"
    second = polls.poll()
    assert first.interval is None and second.interval is not None
    per_process = 2 * (40_000 + 25_000)
    for proc in workers:
        (key,) = {process_key(s.owner) for s in second.snapshot.connections if s.pid == proc.pid}
        group = second.group("processes", key)
        assert group is not None and group.rate is not None
        assert group.totals.connections == 4
        assert group.totals.bytes_sent == per_process + 4  # each connection's SYN
        assert group.rate.sent * second.interval == pytest.approx(per_process, rel=1e-9)
    for port, size in sizes.items():
        group = second.group("destinations", ("127.0.0.1", port))
        assert group is not None and group.rate is not None
        assert group.totals.connections == 6
        assert group.totals.bytes_sent == 6 * (size + 1)
        assert group.rate.sent * second.interval == pytest.approx(6 * size, rel=1e-9)
    mine = process_key(next(s.owner for s in second.snapshot.listeners if s.pid == os.getpid()))
    accepted = second.group("processes", mine)
    assert accepted is not None and accepted.rate is not None
    assert accepted.rate.received * second.interval == pytest.approx(3 * per_process, rel=1e-9)
    everything = second.group("namespaces", second.snapshot.home)  # the one polled
    assert everything is not None
    for kind in ("processes", "destinations"):
        groups = second.top(kind)  # type: ignore[arg-type]
        assert sum(g.totals.connections for g in groups) == everything.totals.connections
        assert sum(g.totals.bytes_sent for g in groups) == everything.totals.bytes_sent
        assert sum(g.rate.sent for g in groups if g.rate) == pytest.approx(everything.rate.sent)  # type: ignore[union-attr]


def test_a_socket_closed_between_polls_leaves_its_groups(farm: SocketFarm) -> None:
    """What a connection moved after the last poll that saw it is never seen: it leaves
    the totals and adds nothing to the interval's rate; nothing goes negative."""
    listener = farm.tcp_listener("127.0.0.1")
    pairs = farm.connect(listener, 3)
    polls = Polls()
    for client, server in pairs:
        pour(client, server, 50_000)
        settle(client)
    destination = ("127.0.0.1", listener.getsockname()[1])
    first = polls.poll()
    before = first.group("destinations", destination)
    assert before is not None and before.totals.connections == 3
    (closing, closing_peer), *staying = pairs
    closed = ends(closing)
    closed_socket = by_ends(first.snapshot, [closed])[closed]
    pour(closing, closing_peer, 900_000)
    settle(closing)
    for sock in (closing, closing_peer):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        farm.release(sock)
    pour(staying[0][0], staying[0][1], 10_000)
    settle(staying[0][0])
    second = polls.poll()
    after = second.group("destinations", destination)
    assert after is not None and after.rate is not None and second.interval is not None
    assert after.totals.connections == 2
    assert after.totals.bytes_sent == before.totals.bytes_sent - (50_000 + 1) + 10_000
    assert after.rate.sent * second.interval == pytest.approx(10_000, rel=1e-9)
    assert not by_ends(second.snapshot, [closed]) and second.connection(closed_socket) is None
    for kind in ("processes", "destinations", "namespaces"):
        for rate in second.rates(kind).values():  # type: ignore[arg-type]
            assert min(rate) >= 0


def test_a_reused_four_tuple_starts_a_series_of_its_own(farm: SocketFarm) -> None:
    """The same 4-tuple, a new socket (a new inode) that moved more than the old one:
    without telling them apart, its counters would read as a large, wrong rate."""
    listener = farm.tcp_listener("127.0.0.1")
    port = free_port()
    old_client, old_server = connect_from(farm, listener, port)
    pour(old_client, old_server, 100_000)
    settle(old_client)
    polls = Polls()
    first = polls.poll()
    old = connection_of(first, old_client)
    for sock in (old_client, old_server):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)  # no TIME_WAIT
        farm.release(sock)
    new_client, new_server = connect_from(farm, listener, port)
    assert ends(new_client) == (
        old.socket.local_address,
        port,
        "127.0.0.1",
        listener.getsockname()[1],
    )
    pour(new_client, new_server, 2_000_000)
    settle(new_client)
    second = polls.poll()
    new = connection_of(second, new_client)
    assert new.socket.key == old.socket.key and new.socket.inode != old.socket.inode
    assert new.rate is None and new.first_seen == second.taken_at
    assert new.info.bytes_acked == 2_000_001
    destination = second.group("destinations", ("127.0.0.1", listener.getsockname()[1]))
    assert destination is not None and destination.rate == IDLE
    assert destination.totals.connections == 1 and destination.totals.bytes_sent == 2_000_001


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def connect_from(
    farm: SocketFarm, listener: socket.socket, port: int
) -> tuple[socket.socket, socket.socket]:
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    client.bind(("127.0.0.1", port))
    client.connect(listener.getsockname())
    farm.sockets.append(client)
    server = listener.accept()[0]
    farm.sockets.append(server)
    return client, server


def test_the_ui_can_ask_with_a_later_polls_socket(farm: SocketFarm) -> None:
    """A screen may hold the next poll's Socket before that poll's report arrives: a
    socket that continues one of the report's is found by its key."""
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    polls = Polls()
    polls.poll()
    pour(client, server, 20_000)
    settle(client)
    report = polls.poll()
    later = polls.collector.collect()
    (newer,) = by_ends(later, [ends(client)]).values()
    found = report.connection(newer)
    assert found is not None and found.rate is not None and found.rate.sent > 0
    assert report.rate(newer) == found.rate


def test_history_ranks_and_draws_each_groups_rate(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((busy, busy_peer), (quiet, _quiet_peer)) = farm.connect(listener, 2)
    polls = Polls()
    polls.poll()
    pour(busy, busy_peer, 400_000)
    pour(quiet, _quiet_peer, 1_000)
    settle(busy, quiet)
    second = polls.poll()
    third = polls.poll()
    ranked = [g.key for g in second.top("destinations")]
    assert ranked.index(("127.0.0.1", busy.getsockname()[1])) < ranked.index(
        ("127.0.0.1", quiet.getsockname()[1])
    )  # the server sides' peers: the busy client's endpoint first
    key = ("127.0.0.1", busy.getsockname()[1])
    line = third.sparkline("destinations", key)
    assert second.interval is not None
    assert len(line) == 2 and line[0] * second.interval == pytest.approx(400_000, rel=1e-9)
    assert line[1] == 0.0
    assert third.total_rate == third.history[-1].total


def test_following_the_collectors_account_is_comparing_every_connection(
    farm: SocketFarm,
) -> None:
    """A tracker that takes the collector's word for what changed (and what it dropped)
    ends each poll exactly where one that compares every connection does: under churn,
    with data moving, connections closing and a 4-tuple reused. (It falls back to
    comparing when the account does not add up: it must not need to here.)"""
    listener = farm.tcp_listener("127.0.0.1")
    pairs = farm.connect(listener, 6)
    collector = Collector(tcp_info=True)
    following, comparing = TrafficTracker(), TrafficTracker()
    compared = []
    compare = following._compared
    following._compared = lambda *args: compared.append(args) or compare(*args)  # type: ignore[method-assign]
    port = free_port()
    with LoopbackLoad(200, churn=40.0, workers=2):
        for step in range(6):
            snapshot = collector.collect()
            copy = replace(snapshot)  # the same sockets, without the collector's account
            assert copy.moved is None and copy.tcp_info is snapshot.tcp_info
            ours, theirs = following.update(snapshot), comparing.update(copy)
            assert ours.totals == theirs.totals and ours.history == theirs.history
            assert dict(ours.series) == dict(theirs.series)
            for sock in snapshot.connections:
                assert ours.reading(sock) == theirs.reading(sock)
            client, server = pairs[step % len(pairs)]
            pour(client, server, 10_000 * (step + 1))
            if step == 2:
                for sock in pairs.pop():
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
                    farm.release(sock)
                pairs.append(connect_from(farm, listener, port))
            if step == 4:
                pairs[-1][0].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
                pairs[-1][1].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
                farm.release(pairs[-1][0])
                farm.release(pairs[-1][1])
                pairs[-1] = connect_from(farm, listener, port)  # the same 4-tuple again
            time.sleep(0.3)
    assert not compared  # a first poll builds no series; every later one follows the account


def test_a_first_poll_builds_no_series_and_reads_as_if_it_had(
    farm: SocketFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One poll has totals but no rates, so `portscope snapshot` should not pay for a
    series per connection: none is built until a second poll follows them (or one is
    asked for), and what the first report says is what its series say once built."""
    listener = farm.tcp_listener("127.0.0.1")
    pairs = farm.connect(listener, 4)
    for n, (client, server) in enumerate(pairs):
        pour(client, server, 1_000 * (n + 1))
    built: list[object] = []
    counted = traffic.new_series
    monkeypatch.setattr(traffic, "new_series", lambda *fields: built.append(1) or counted(*fields))
    tracker, collector = TrafficTracker(), Collector(tcp_info=True)
    snapshot = collector.collect()
    first = tracker.update(snapshot)
    assert not built
    connections = [s for s in snapshot.connections if snapshot.tcp_info.raw(s) is not None]
    assert len(connections) >= 8
    readings = list(first.readings(connections))
    assert readings == [single_reading(s, snapshot) for s in connections]
    assert [first.reading(s) for s in connections] == readings
    assert not built
    series = dict(first.series)  # built when asked, each a first reading
    assert len(built) == len(connections) == len(series)
    naive: tuple[dict[object, list[int]], ...] = ({}, {}, {})
    for sock in connections:
        one = series[id(sock)]
        assert one.socket is sock and one.rate is None and one.flags is None
        assert first.reading(sock) == single_reading(sock, snapshot)
        info = snapshot.tcp_info.get(sock)
        assert info is not None
        remote = (sock.remote_address or "", sock.remote_port or 0)
        keys = (process_key(sock.owner), remote, sock.netns or None)
        for sums, key in zip(naive, keys, strict=True):
            held = sums.setdefault(key, [0, 0, 0, 0, 0])
            for at, value in enumerate(traffic.contribution(info)):
                held[at] += value
    assert first.totals == tuple({k: tuple(v) for k, v in sums.items()} for sums in naive)
    built.clear()
    second = tracker.update(collector.collect())
    assert second.interval is not None and len(built) > 0  # a second poll follows them
