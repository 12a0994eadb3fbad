"""Real ephemeral exhaustion, CLOSE_WAIT leaks and full accept queues, each in its own
network namespace with a ten-port ephemeral range, seen through the real CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from netns import needs_netns, run_scenario

pytestmark = needs_netns

TINY_RANGE = {"ip_local_port_range": "40000 40009"}


def pressure_to_target(snapshot: dict[str, Any]) -> dict[str, Any]:
    (entry,) = [p for p in snapshot["pressure"] if p["remote_port"] == 5000]
    return entry


def check_json(result: dict[str, Any]) -> dict[str, Any]:
    return json.loads(result["check"]["stdout"])


@pytest.mark.parametrize(
    ("connections", "level", "status", "exit_code"),
    [
        (6, "ok", "OK", 0),
        (7, "warning", "WARNING", 1),
        (9, "critical", "CRITICAL", 2),
    ],
)
def test_pressure_levels_follow_the_connections_to_one_destination(
    connections: int, level: str, status: str, exit_code: int
) -> None:
    result = run_scenario(sysctl=TINY_RANGE, connect=connections, check=["--json"])
    entry = pressure_to_target(result["snapshot"])
    assert (entry["in_use"], entry["budget"]) == (connections, 10)
    assert entry["percent"] == connections * 10
    assert entry["level"] == level
    report = check_json(result)
    assert (report["status"], result["check"]["status"]) == (status, exit_code)
    assert report["exit_code"] == exit_code
    assert result["connect_error"] is None


def test_an_exhausted_destination_is_critical_exactly_when_connect_fails() -> None:
    result = run_scenario(sysctl=TINY_RANGE, connect=10, check=[])
    assert result["connect_error"] == "EADDRNOTAVAIL"
    entry = pressure_to_target(result["snapshot"])
    assert (entry["in_use"], entry["budget"], entry["free"]) == (10, 10, 0)
    assert (entry["percent"], entry["level"]) == (100.0, "critical")
    check = result["check"]
    assert check["status"] == 2
    status_line, *details = check["stdout"].splitlines()
    assert status_line.startswith("PORTSCOPE CRITICAL - tcp 127.0.0.1 -> 127.0.0.1:5000: 10 of 10")
    assert "| max_pressure=100.0%;70;90;0;100" in status_line
    assert any(line.startswith("CRITICAL: tcp 127.0.0.1 -> 127.0.0.1:5000") for line in details)


def test_a_listener_inside_the_range_shrinks_every_budget() -> None:
    result = run_scenario(sysctl=TINY_RANGE, extra_listeners=[40003], connect=9)
    assert result["connect_error"] == "EADDRNOTAVAIL"
    entry = pressure_to_target(result["snapshot"])
    assert (entry["in_use"], entry["budget"], entry["percent"]) == (9, 9, 100.0)


def test_reserved_ports_are_not_in_the_budget() -> None:
    result = run_scenario(
        sysctl={**TINY_RANGE, "ip_local_reserved_ports": "40000-40001"}, connect=8
    )
    assert result["connect_error"] == "EADDRNOTAVAIL"
    entry = pressure_to_target(result["snapshot"])
    assert (entry["in_use"], entry["budget"]) == (8, 8)
    assert result["snapshot"]["ephemeral_range"]["usable"] == 8


def test_time_wait_holds_the_tuple_when_reuse_is_off() -> None:
    result = run_scenario(sysctl={**TINY_RANGE, "tcp_tw_reuse": 0}, connect=10, time_wait=True)
    assert result["connect_error"] == "EADDRNOTAVAIL"
    entry = pressure_to_target(result["snapshot"])
    assert (entry["in_use"], entry["time_wait"], entry["time_wait_share"]) == (10, 10, 100.0)
    assert entry["time_wait_reusable"] is False
    health = result["snapshot"]["health"]
    assert health["tcp_tw_reuse"] == 0
    assert health["time_wait"] == {"total": 10, "kernel": 10}


def test_time_wait_is_marked_reusable_when_the_kernel_recycles_it() -> None:
    result = run_scenario(
        sysctl={**TINY_RANGE, "tcp_tw_reuse": 1, "tcp_tw_reuse_delay": 1},
        connect=10,
        time_wait=True,
    )
    assert result["connect_error"] is None
    entry = pressure_to_target(result["snapshot"])
    assert (entry["time_wait"], entry["time_wait_reusable"]) == (10, True)
    assert result["snapshot"]["health"]["tcp_tw_reuse"] == 1


def test_a_growing_close_wait_leak_pages_within_two_polls() -> None:
    result = run_scenario(leak=3, leak_during_check=True, check=["--interval", "1", "--json"])
    report = check_json(result)
    assert (report["status"], result["check"]["status"]) == ("WARNING", 1)
    (trend,) = report["health"]["close_wait"]
    assert trend["growing"] is True
    assert trend["process"].startswith("python")
    first, second = trend["counts"]
    assert 3 <= first < second
    assert any("CLOSE_WAIT growing" in p["text"] for p in report["problems"])


def test_a_steady_close_wait_count_is_not_a_leak() -> None:
    result = run_scenario(leak=3, check=["--interval", "0.3", "--json"])
    report = check_json(result)
    assert report["status"] == "OK"
    (trend,) = report["health"]["close_wait"]
    assert (trend["counts"], trend["growing"]) == ([3, 3], False)


def test_close_wait_above_the_critical_count_while_growing_is_critical() -> None:
    result = run_scenario(
        leak=2,
        leak_during_check=True,
        check=["--interval", "1", "--close-wait-critical", "3"],
    )
    assert result["check"]["status"] == 2
    assert result["check"]["stdout"].startswith("PORTSCOPE CRITICAL - CLOSE_WAIT growing in ")


def test_a_full_accept_queue_is_critical() -> None:
    result = run_scenario(full_queue=2, check=["--json"])
    (listener,) = [s for s in result["snapshot"]["listening"] if s["port"] == 6000]
    if listener["backlog"] is None:
        pytest.skip(f"the {result['snapshot']['source']} source does not report listen backlogs")
    (queue,) = result["snapshot"]["health"]["accept_queues"]
    assert (queue["port"], queue["queued"], queue["backlog"]) == (6000, 3, 2)
    assert (queue["full"], queue["level"]) == (True, "critical")
    report = check_json(result)
    assert (report["status"], result["check"]["status"]) == ("CRITICAL", 2)
    assert "full, new connections are dropped" in report["summary"]


def test_growth_below_the_growth_threshold_is_not_flagged() -> None:
    result = run_scenario(
        leak=2,
        leak_during_check=True,
        check=["--interval", "1", "--close-wait-growth", "1000", "--json"],
    )
    report = check_json(result)
    assert (report["status"], result["check"]["status"]) == ("OK", 0)
    (trend,) = report["health"]["close_wait"]
    first, second = trend["counts"]
    assert second > first and trend["growing"] is False
