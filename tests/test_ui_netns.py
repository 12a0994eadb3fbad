"""The real dashboard in a network namespace of its own, held against `ss` there: a
4-tuple reused by a new connection is a new row, and the Ephemeral title counts what
the kernel still has (see netns_dashboard.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from netns import needs_netns, run_in_netns

pytestmark = needs_netns

SCRIPT = Path(__file__).with_name("netns_dashboard.py")


def scenario(name: str) -> dict[str, Any]:
    return json.loads(run_in_netns(SCRIPT, name).stdout)


def test_each_new_socket_on_a_reused_4_tuple_is_a_new_row_with_its_own_age() -> None:
    steps = {step["step"]: step for step in scenario("reuse")["steps"]}
    for step in steps.values():
        assert step["row"] is not None, step
        assert step["row"]["inode"] == step["ss"]["inode"], step
    ages = {name: (step["row"]["age"], step["row"]["new"]) for name, step in steps.items()}
    assert ages == {
        "connected": ("0s", True),
        "still open": ("5s", False),
        "time wait": ("10s", False),  # the same connection, closing
        "reconnected after time wait": ("0s", True),
        "reconnected between polls": ("0s", True),
        "later": ("5s", False),
    }
    inodes = [steps[name]["ss"]["inode"] for name in ages if steps[name]["ss"]["inode"]]
    assert len(set(inodes)) == 3, inodes


def test_the_ephemeral_title_counts_live_connections_and_the_closed_apart() -> None:
    result = scenario("closed")
    assert (result["ss_live"], result["rows"], result["gone_rows"]) == (7, 12, 5)
    assert result["title"].startswith("Ephemeral · 7 (+5 closed)"), result["title"]
    assert result["title_after_expiry"].startswith("Ephemeral · 7"), result
    assert "closed" not in result["title_after_expiry"]


def test_an_overflowed_listen_queue_shows_in_the_pressure_view_and_the_header() -> None:
    """The counters' rises the view shows lie between what /proc/net/netstat, read
    apart from portscope, says the knocks did and what it says by the poll after."""
    result = scenario("overflow")
    kernel = result["kernel"].splitlines()
    assert "kernel counters" in result["title"]
    for name in ("TcpExtListenOverflows", "TcpExtListenDrops"):
        line = next(line for line in kernel if f" {name} +" in line)
        assert line.startswith("▲ "), line  # an alarm counter
        shown = int(line.split(" +")[1].split()[0].replace(",", ""))
        low, high = result["rose_by_knocks"][name], result["rose_by_poll"][name]
        assert 0 < low <= shown <= high, (line, low, high)
        assert "/s): " in line
    drops = next(line for line in kernel if "dropped at listeners" in line)
    assert drops.startswith("▲ ") and "with a full accept queue" in drops
    assert "drop counters rose (p)" in result["header"]
    assert "health" in result["header"]
