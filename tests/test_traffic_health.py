"""TCP health flags on real connections: a receiver that stops reading, a path with a
queue building (delay) and one that drops segments (loss), the latter two inside a
network namespace of the test's own with its loopback shaped.

This kernel has no sch_netem (CONFIG_NET_SCH_NETEM is off and there are no modules to
load), so delay is made with tbf (a rate limit whose queue holds up to 300 ms of data)
and loss with iptables' statistic match; where netem exists, its own test runs too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from conftest import cli_env
from portscope.analysis.traffic import TrafficTracker
from portscope.collect import Collector
from sockets import SocketFarm
from traffic_support import by_ends, ends, unacknowledged

SHAPED = Path(__file__).with_name("traffic_shaped.py")
PORT = 5555
STALL_TIMEOUT = 10.0


def test_a_receiver_that_stops_reading_flags_its_sender(farm: SocketFarm) -> None:
    """The receiver's buffer fills and its window closes: the sender then spends the
    whole interval waiting on it (tcpi_rwnd_limited), which is what the flag says."""
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    client.setblocking(False)
    deadline = time.monotonic() + STALL_TIMEOUT
    while True:  # fill the peer's window and our send buffer, never reading there
        try:
            client.send(b"r" * 65536)
        except BlockingIOError:
            break
        assert time.monotonic() < deadline
    assert unacknowledged(client) > 0
    collector, tracker = Collector(tcp_info=True), TrafficTracker()
    tracker.update(collector.collect())
    time.sleep(1.0)
    report = tracker.update(collector.collect())
    found = by_ends(report.snapshot, [ends(client), ends(server)])
    sender, receiver = (report.connection(found[ends(s)]) for s in (client, server))
    assert sender is not None and receiver is not None and sender.limits is not None
    assert "receiver_limited" in sender.flags and sender.level == "warning"
    assert sender.limits.receiver >= 0.5
    assert any("receiver's window" in reason for reason in sender.reasons)
    assert "receiver_limited" not in receiver.flags


@cache
def shaping_refusal() -> str | None:
    if os.geteuid() != 0:
        return "needs root to make and shape a network namespace"
    missing = [tool for tool in ("ip", "tc", "iptables") if shutil.which(tool) is None]
    return f"needs {', '.join(missing)}" if missing else None


needs_shaping = pytest.mark.skipif(shaping_refusal() is not None, reason=str(shaping_refusal()))


class Namespace:
    """A network namespace made with `ip netns add`, loopback up at a small MTU (so a
    token bucket's burst holds whole packets), deleted at the end."""

    def __init__(self) -> None:
        self.name = f"portscope-traffic-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=30)
        self.run("ip", "link", "set", "lo", "mtu", "1500", "up")

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env=cli_env(),
            check=check,
        )

    def transfer(self, *check_args: str) -> dict:
        done = self.run(sys.executable, str(SHAPED), str(PORT), *check_args, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False, timeout=30)


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    made = Namespace()
    try:
        yield made
    finally:
        made.delete()


@needs_shaping
def test_a_queue_building_on_the_path_shows_as_rtt_far_above_its_minimum(
    namespace: Namespace,
) -> None:
    namespace.run("tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "4mbit",
                  "burst", "32kb", "latency", "300ms")  # fmt: skip
    seen = namespace.transfer()
    assert seen["rtt"] >= 4 * seen["min_rtt"] and seen["rtt"] - seen["min_rtt"] >= 10_000
    assert "rtt_high" in seen["flags"]
    assert any("far above this connection's own minimum" in r for r in seen["reasons"])
    assert 0 < seen["sent"] <= 4_000_000 / 8 * 1.2  # the bucket's rate, bytes a second


@needs_shaping
def test_segments_dropped_on_the_path_show_as_retransmissions_and_check_warns(
    namespace: Namespace,
) -> None:
    """5 % of the segments to the listener are dropped: the sender retransmits, is
    flagged, and `check --retransmit-warning` names the destination."""
    drop = ["-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP"]
    namespace.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), *drop)
    seen = namespace.transfer("--interval", "1", "--retransmit-warning", "0.5")
    assert seen["retransmitted"] > 0 and seen["retransmit_rate"] > 0
    assert "retransmitting" in seen["flags"]
    status, text = seen["check"]
    head, *details = text.splitlines()
    assert status == 1 and head.startswith("PORTSCOPE WARNING - "), text
    assert "max_retransmit=" in head
    assert any(
        line.startswith(f"WARNING: tcp -> 127.0.0.1:{PORT}: ") and "retransmissions" in line
        for line in details
    ), text


def netem_refusal(namespace: Namespace) -> str | None:
    probe = namespace.run("tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
                          check=False)  # fmt: skip
    if probe.returncode != 0:
        return f"tc netem refused here: {probe.stderr.strip()}"
    namespace.run("tc", "qdisc", "del", "dev", "lo", "root")
    return None


@needs_shaping
def test_netem_delay_and_loss_show_in_rtt_and_retransmissions(namespace: Namespace) -> None:
    refusal = netem_refusal(namespace)
    if refusal is not None:
        pytest.skip(refusal)
    namespace.run("tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "20ms",
                  "loss", "2%")  # fmt: skip
    seen = namespace.transfer()
    assert seen["min_rtt"] >= 2 * 20_000 * 0.9  # the delay, both ways
    assert seen["retransmitted"] > 0 and "retransmitting" in seen["flags"]
