"""The collector against `ss -tuanpH` on thousands of loopback sockets, steady and churning."""

from __future__ import annotations

import shutil
import time
from collections import Counter

import pytest

from loopback_load import LoopbackLoad
from portscope.collect import Collector, SourceName
from portscope.model import Socket
from ss import SsSocket, ss_sockets

SOCKETS = 3000
CHURN = 200.0
POLLS = 3

pytestmark = pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")

Ends = tuple[str, str, int, "str | None", "int | None"]


def ends_of(sock: Socket) -> Ends:
    return (sock.proto, sock.local_address, sock.local_port, sock.remote_address, sock.remote_port)


def compare(collector: Collector, load: LoopbackLoad) -> tuple[int, list[str]]:
    """(sockets seen by both, disagreements) for the load's sockets, ss read second."""
    addresses = {address for address, _port in load.ports}
    ours = {ends_of(s): s for s in collector.collect().sockets if s.local_address in addresses}
    theirs: dict[Ends, SsSocket] = {s[:5]: s for s in ss_sockets() if s[1] in addresses}
    both = ours.keys() & theirs.keys()
    problems = [
        f"{key}: ours {mine.state}/{mine.pid}, ss {ref[5]}/{ref[6]}"
        for key in both
        if ((mine := ours[key]).state, mine.pid) != (ref := theirs[key])[5:]
    ]
    return len(both), problems


@pytest.mark.parametrize("source", ["netlink", "procfs"])
@pytest.mark.parametrize("churn", [0.0, CHURN], ids=["steady", "churn"])
def test_agrees_with_ss_at_scale(source: SourceName, churn: float) -> None:
    with LoopbackLoad(SOCKETS, churn=churn, workers=2) as load:
        collector = Collector(source=source)
        for _ in range(POLLS):
            seen, problems = compare(collector, load)
            assert problems == []
            assert seen >= 0.9 * SOCKETS
            time.sleep(0.2)


def test_the_load_holds_what_it_promised() -> None:
    """At least one of a few reads shows every promised socket: a single dump is not
    atomic, so a pair replaced while it runs can be missed on both sides of the walk."""
    with LoopbackLoad(SOCKETS, churn=CHURN, workers=2) as load:
        time.sleep(0.3)
        addresses = {address for address, _port in load.ports}
        reads = [Counter((s[5], s[1] in addresses) for s in ss_sockets()) for _ in range(3)]
    assert max(states[("ESTABLISHED", True)] for states in reads) >= SOCKETS
    assert all(states[("LISTEN", True)] == 2 for states in reads)
    assert all(states[("TIME_WAIT", True)] == 0 for states in reads)
