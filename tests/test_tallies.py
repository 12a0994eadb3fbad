"""Counts that follow each poll's Delta agree with a recount, on real loopback sockets.

The dashboard's health thread and its port counts no longer recount every socket per
poll; each step of `tally_scenario.py` changes real sockets in a namespace of their own
(churn, TIME_WAIT, CLOSE_WAIT, UDP, listeners coming and going), and the followed
figures are checked against a fresh count of the same snapshot.
"""

from __future__ import annotations

import pickle
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from netns import needs_netns, run_in_netns
from portscope.analysis import HealthTracker
from portscope.delta import Delta
from portscope.model import Snapshot
from portscope.view.port_use import PortUse
from tally_scenario import SAME_LISTENERS

pytestmark = needs_netns

SCENARIO = Path(__file__).with_name("tally_scenario.py")


@pytest.fixture(scope="module")
def polls(tmp_path_factory: pytest.TempPathFactory) -> list[Snapshot]:
    """One snapshot after each step of `tally_scenario.py`, in its own namespace."""
    out = tmp_path_factory.mktemp("tallies") / "polls.pickle"
    run_in_netns(SCENARIO, str(out))
    snapshots: list[Snapshot] = pickle.loads(out.read_bytes())
    for first, second in SAME_LISTENERS:
        old, new = snapshots[first - 1], snapshots[second - 1]
        assert old.listening_ports == new.listening_ports, "these polls follow the Delta"
    return snapshots


def recounted_peers(snapshot: Snapshot) -> dict[tuple[str, int, int], int]:
    """The `conns` column by its definition: connections on each listening port of
    their own namespace, in any state but TIME_WAIT."""
    keys = (
        (s.proto, s.local_port, s.netns) for s in snapshot.connections if s.state != "TIME_WAIT"
    )
    return dict(Counter(key for key in keys if key in snapshot.listening_ports))


def recounted_lent(snapshot: Snapshot) -> int:
    """The header gauge by its definition: distinct ports of ephemeral connections."""
    return len({s.local_port for s in snapshot.connections if snapshot.is_ephemeral(s)})


def test_port_use_following_deltas_matches_a_recount(polls: list[Snapshot]) -> None:
    followed = PortUse(polls[0])
    for old, new in pairwise(polls):
        followed.follow(new, Delta.between(old, new))
        assert followed.peers() == recounted_peers(new)
        assert followed.lent == recounted_lent(new)
    assert followed.peers(), "the farm's listeners have peers"


def test_port_use_over_a_skipped_poll(polls: list[Snapshot]) -> None:
    """The app follows a Delta spanning several polls when it skipped some."""
    first, last = polls[0], polls[-1]
    followed = PortUse(first)
    followed.follow(last, Delta.between(first, last))
    assert followed.peers() == recounted_peers(last)
    assert followed.lent == recounted_lent(last)


def test_health_following_deltas_matches_a_recount(polls: list[Snapshot]) -> None:
    recounting = HealthTracker()
    following = HealthTracker(follow_deltas=True)
    previous = None
    for snapshot in polls:
        expected = recounting.update(snapshot)
        assert following.update(snapshot, Delta.between(previous, snapshot)) == expected
        previous = snapshot
    report = following.latest
    assert report is not None and report.pressure and report.time_wait
    assert any(t.pid is not None for t in report.close_wait)


def test_health_with_a_limit_keeps_the_top_of_the_full_ranking(polls: list[Snapshot]) -> None:
    everything = HealthTracker().update(polls[-1])
    limited = HealthTracker(pressure_limit=2, follow_deltas=True)
    previous = None
    for snapshot in polls:
        report = limited.update(snapshot, Delta.between(previous, snapshot))
        previous = snapshot
    assert report.pressure == everything.pressure[:2]
    assert report.destinations == everything.destinations
