"""Socket health on this machine's loopback: leaks, queues and pressure from real sockets."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import run_portscope, snapshot_json
from portscope.analysis import HealthTracker, Thresholds, destination_pressure, listener_queue
from portscope.collect import Collector
from portscope.collect.sockstat import read_socket_totals
from portscope.model import Snapshot, Socket
from portscope.poller import Poller
from sockets import SocketFarm

SETTLE = 5.0


def own_close_wait(tracker: HealthTracker) -> tuple[int, ...]:
    """This process's CLOSE_WAIT counts in the tracker's latest report."""
    assert tracker.latest is not None
    mine = [t for t in tracker.latest.close_wait if t.pid == os.getpid()]
    return mine[0].counts if mine else ()


def leak(farm: SocketFarm, listener: socket.socket, count: int) -> None:
    """The peer closes and this side never does: `count` sockets left in CLOSE_WAIT."""
    for client, _server in farm.connect(listener, count):
        client.close()
        farm.sockets.remove(client)


def settled(collector: Collector, ready: Callable[[Snapshot], bool]) -> Snapshot:
    """Poll until `ready(snapshot)` holds: the kernel finishes handshakes asynchronously."""
    deadline = time.monotonic() + SETTLE
    snapshot = collector.collect()
    while not ready(snapshot) and time.monotonic() < deadline:
        time.sleep(0.02)
        snapshot = collector.collect()
    return snapshot


async def test_poller_subscriber_sees_a_close_wait_leak_within_two_polls(
    farm: SocketFarm,
) -> None:
    listener = farm.tcp_listener()
    tracker = HealthTracker()
    poller = Poller(Collector().collect)
    poller.subscribe(tracker.on_poll)
    leak(farm, listener, 2)
    await poller.poll_once()
    leak(farm, listener, 3)
    await poller.poll_once()
    first, second = own_close_wait(tracker)
    assert first >= 2 and second > first
    (trend,) = [t for t in tracker.latest.close_wait if t.pid == os.getpid()]
    assert (trend.growing, trend.level) == (True, "warning")
    assert trend in tracker.latest.problems


def test_close_wait_that_stops_growing_is_no_longer_flagged(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    collector = Collector()
    tracker = HealthTracker()
    leak(farm, listener, 2)
    tracker.update(collector.collect())
    leak(farm, listener, 1)
    tracker.update(collector.collect())
    tracker.update(collector.collect())
    counts = own_close_wait(tracker)
    (trend,) = [t for t in tracker.latest.close_wait if t.pid == os.getpid()]
    assert counts[-1] == counts[-2] and not trend.growing


def test_accept_queue_counts_connections_nobody_accepted(farm: SocketFarm) -> None:
    listener = farm.tcp_listener(backlog=2)
    port = listener.getsockname()[1]
    for _ in range(3):
        client = socket.socket()
        farm.sockets.append(client)
        client.connect(listener.getsockname())

    def mine(snapshot: Snapshot) -> list[Socket]:
        return [s for s in snapshot.listeners if s.proto == "tcp" and s.local_port == port]

    snapshot = settled(Collector(), lambda snap: mine(snap)[0].rx_queue == 3)
    queue = listener_queue(mine(snapshot)[0])
    assert queue is not None and queue.queued == 3
    if queue.backlog is None:
        pytest.skip(f"the {snapshot.source} source does not report listen backlogs")
    assert (queue.backlog, queue.capacity, queue.full, queue.level) == (2, 3, True, "critical")


def test_pressure_counts_only_the_client_side(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    port = listener.getsockname()[1]
    clients = [client.getsockname()[1] for client, _ in farm.connect(listener, 5)]
    pressure = destination_pressure(Collector().collect())
    (entry,) = [p for p in pressure if p.destination.remote_port == port]
    assert entry.in_use == 5 and entry.time_wait == 0 and entry.level == "ok"
    assert not [p for p in pressure if p.destination.remote_port in clients]
    assert pressure == sorted(pressure, key=lambda p: -p.percent)


def test_snapshot_json_carries_pressure_and_health(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    port = listener.getsockname()[1]
    farm.connect(listener, 3)
    document = snapshot_json()
    (entry,) = [p for p in document["pressure"] if p["remote_port"] == port]
    assert entry["in_use"] == 3
    assert entry["budget"] <= document["ephemeral_range"]["usable"]
    health = document["health"]
    assert health["polls"] == 1
    assert health["thresholds"] == {
        "warning": 70.0,
        "critical": 90.0,
        "close_wait_critical": 100,
        "close_wait_growth": 1,
        "listen_drops_warning": 1,
        "listen_drops_critical": 100,
        "conntrack_warning": 75.0,
        "conntrack_critical": 90.0,
    }
    assert health["tcp_tw_reuse"] == int(Path("/proc/sys/net/ipv4/tcp_tw_reuse").read_text())
    assert health["level"] in ("ok", "warning", "critical")


def test_socket_totals_come_from_the_kernel() -> None:
    """Exact counts are checked in a namespace (test_health_netns); here, that all are read."""
    totals = read_socket_totals()
    assert totals.tcp_tw_reuse == int(Path("/proc/sys/net/ipv4/tcp_tw_reuse").read_text())
    counts = (totals.tcp_in_use, totals.tcp_time_wait, totals.tcp_orphaned, totals.udp_in_use)
    assert all(isinstance(n, int) and n >= 0 for n in counts)


def test_check_json_status_and_exit_code_agree() -> None:
    done = run_portscope("check", "--json")
    report = json.loads(done.stdout)
    assert report["schema"] == "portscope.check/1"
    assert done.returncode == report["exit_code"]
    expected = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}[report["status"]]
    assert report["exit_code"] == expected
    assert report["notes"] == ["CLOSE_WAIT growth and listen drops need two polls: pass --interval"]


def test_check_status_line_is_one_line_with_perfdata() -> None:
    done = run_portscope("check", "-w", "50", "-c", "80")
    status_line = done.stdout.splitlines()[0]
    assert status_line.startswith("PORTSCOPE ")
    assert "max_pressure=" in status_line and "%;50;80;0;100" in status_line


@pytest.mark.parametrize(
    "args",
    [
        ["-w", "95", "-c", "90"],
        ["-w", "abc"],
        ["-c", "0"],
        ["-c", "nan"],
        ["--interval", "-1"],
        ["--close-wait-critical", "0"],
        ["--close-wait-growth", "-2"],
    ],
)
def test_bad_check_options_are_one_line_and_exit_2(args: list[str]) -> None:
    done = run_portscope("check", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("portscope: ")


def test_thresholds_refuse_an_inverted_order() -> None:
    with pytest.raises(ValueError, match="warning <= critical"):
        Thresholds(warning=80, critical=60)
