"""The demo server moving data: its TCP connections with tcp_info counters that grow at
fixed rates from poll to poll, so the Traffic view, the rate columns, the header's
throughput and a health flag have something to show. Counters are what the kernel's
struct would hold (`tcpinfo.KEPT`); nothing touches the OS.

curl downloads from 203.0.113.80 and nginx serves two clients; python3's database
connection has an RTT far above its minimum (a queue on its path: flagged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from demo.server import DEMO_TIME, demo_snapshot
from portscope.model import Snapshot, Socket, TcpInfoTable
from portscope.tcpinfo import KEPT, TcpInfo

STEP = 2.0
"""Seconds between two polls of the scripted source."""
MSS = 1448
RateOf = Callable[[Socket], tuple[float, float]]
"""A connection's bytes received and sent a second."""

DEMO_RATES: dict[tuple[int, int], tuple[float, float]] = {
    (41822, 443): (1_250_000.0, 2_100.0),  # curl downloading
    (443, 51234): (12_000.0, 640_000.0),  # nginx serving
    (443, 40112): (3_100.0, 85_000.0),
    (45010, 5432): (310_000.0, 48_000.0),  # python3 and its database
    (52344, 5432): (150_000.0, 9_000.0),  # node and the local postgres
    (5432, 52344): (9_000.0, 150_000.0),
    (22, 50522): (200.0, 1_500.0),  # this ssh session
}
SLOW_PATH = {(45010, 5432)}
"""Connections whose smoothed RTT is far above their own minimum."""


def demo_rate(sock: Socket) -> tuple[float, float]:
    return DEMO_RATES.get((sock.local_port, sock.remote_port or 0), (0.0, 0.0))


def counters(received: int, sent: int, *, rtt: int = 400, min_rtt: int = 300) -> bytes:
    """The kept bytes of a tcp_info reading with these totals (times in µs)."""
    info = TcpInfo(
        rtt=rtt,
        rttvar=rtt // 4,
        total_retrans=0,
        bytes_acked=sent,
        bytes_received=received,
        segs_out=sent // MSS + 1,
        segs_in=received // MSS + 1,
        min_rtt=min_rtt,
        delivery_rate=0,
        busy_time=0,
        rwnd_limited=0,
        sndbuf_limited=0,
    )
    return KEPT.pack(*info)


def with_traffic(snapshot: Snapshot, seconds: float, rate_of: RateOf = demo_rate) -> Snapshot:
    """`snapshot` with a tcp_info table for its full TCP connections, each one's
    counters what it moved at `rate_of` over `seconds` (plus a first megabyte)."""
    full = [
        s
        for s in snapshot.connections
        if s.proto == "tcp" and s.state not in ("TIME_WAIT", "SYN_RECV")
    ]
    raw = {}
    for sock in full:
        received, sent = rate_of(sock)
        slow = (sock.local_port, sock.remote_port or 0) in SLOW_PATH
        raw[id(sock)] = counters(
            1_000_000 + round(received * seconds),
            1_000_000 + round(sent * seconds),
            rtt=48_000 if slow else 400,
            min_rtt=2_000 if slow else 300,
        )
    return replace(snapshot, tcp_info=TcpInfoTable(full, raw))


PACE = (1.0, 0.6, 1.3, 0.9, 1.6, 1.1, 0.7, 1.2)
"""Each interval's share of the rates, so the sparklines are not flat."""


def traffic_steps(polls: int = 6) -> list[Snapshot]:
    """The demo server over `polls` polls STEP seconds apart, moving data at DEMO_RATES
    times each interval's PACE."""
    return [
        with_traffic(
            demo_snapshot(taken_at=DEMO_TIME + STEP * n), STEP * sum(PACE[: n % len(PACE)])
        )
        for n in range(polls)
    ]
