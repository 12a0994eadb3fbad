"""The collector against `ss -tuanpH` on thousands of loopback sockets, steady and churning."""

from __future__ import annotations

import shutil
import time
from collections import Counter

import pytest

from portscope.collect import Collector, SourceName
from portscope.model import Socket
from ss import SsRow, read_ss
from workload import Workload

SOCKETS = 3000
CHURN = 200.0
POLLS = 3

pytestmark = pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")


def ends(sock: Socket) -> tuple[str, tuple[str, int], tuple[str, int] | None]:
    remote = None if sock.remote_address is None else (sock.remote_address, sock.remote_port)
    return sock.proto, (sock.local_address, sock.local_port), remote


def compare(collector: Collector, workload: Workload) -> tuple[int, list[str]]:
    """(sockets seen by both, disagreements) for the workload's sockets, ss read second."""
    addresses = {address for address, _port in workload.ports}
    ours = {ends(s): s for s in collector.collect().sockets if s.local_address in addresses}
    theirs: dict[tuple[object, ...], SsRow] = {
        row.ends: row for row in read_ss() if row.local[0] in addresses
    }
    both = ours.keys() & theirs.keys()
    problems = [
        f"{key}: ours {mine.state}/{mine.pid}, ss {ref.state}/{set(ref.pids)}"
        for key in both
        if (mine := ours[key]).state != (ref := theirs[key]).state or mine.pid not in ref.pids
    ]
    return len(both), problems


@pytest.mark.parametrize("source", ["netlink", "procfs"])
@pytest.mark.parametrize("churn", [0.0, CHURN], ids=["steady", "churn"])
def test_agrees_with_ss_at_scale(source: SourceName, churn: float) -> None:
    with Workload(SOCKETS, churn=churn, workers=2) as workload:
        collector = Collector(source=source)
        for _ in range(POLLS):
            seen, problems = compare(collector, workload)
            assert problems == []
            assert seen >= 0.9 * SOCKETS
            time.sleep(0.2)


def test_the_workload_holds_what_it_promised() -> None:
    with Workload(SOCKETS, churn=CHURN, workers=2) as workload:
        time.sleep(0.3)
        states = Counter(
            (row.state, row.local[0] in {a for a, _p in workload.ports}) for row in read_ss()
        )
    assert states[("ESTABLISHED", True)] >= SOCKETS
    assert states[("LISTEN", True)] == 2
    assert states[("TIME_WAIT", True)] == 0
