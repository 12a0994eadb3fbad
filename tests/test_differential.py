"""`portscope snapshot --json` against `ss -tuanpH` on the test's own sockets.

Other processes share this network namespace, so `ss` is read before and after the
snapshot: every socket both reads saw must be in the snapshot, and the snapshot may
hold nothing that neither read saw.
"""

from __future__ import annotations

import pytest

from conftest import has_ipv6_loopback, snapshot_json
from sockets import SocketFarm
from ss import SsSocket, ss_sockets
from workload import Record, Workload, json_records, mixed


def witness_view(records: set[Record]) -> set[SsSocket]:
    """Drop the family: ss says it only through the address."""
    return {(r[0], *r[2:]) for r in records}  # type: ignore[misc]


def touching(work: Workload, sockets: set[SsSocket]) -> set[SsSocket]:
    return {s for s in sockets if work.mine((s[1], s[2]), (s[3], s[4]))}


@pytest.mark.parametrize("source", ["auto", "psutil"])
def test_snapshot_agrees_with_ss(farm: SocketFarm, source: str) -> None:
    work = mixed(farm, established=200, v6=has_ipv6_loopback())
    before = touching(work, ss_sockets())
    doc = snapshot_json("--source", source)
    after = touching(work, ss_sockets())
    ours = touching(work, witness_view(json_records(doc)))
    stable = before & after
    assert stable - ours == set(), "ss saw these twice, the snapshot missed them"
    assert ours - (before | after) == set(), "the snapshot saw these, ss never did"
    assert witness_view(work.listeners | work.connections) <= stable
