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
