"""The demo server in trouble: a tight port range, one upstream nearly exhausted, a leak.

For the pressure view's tests and screenshots. The range is 100 ports (as on a host
with `ip_local_port_range = 40000 40099`), so the figures are small enough to read:
the worker's database upstream is at 95 % (critical), node's API upstream at 75 %
(warning), node leaks CLOSE_WAIT a little more each poll, node's accept queue is full
and postgres's is filling. Addresses are documentation ranges; nothing touches the OS.
"""

from __future__ import annotations

from dataclasses import replace

from demo.server import (
    CLIENT_IP,
    CONNECTIONS,
    CURL,
    DEMO_TIME,
    LISTENERS,
    NODE,
    PYTHON,
    SERVER_IP,
    demo_snapshot,
)
from portscope.model import EphemeralRange, Owner, Snapshot, Socket, SocketTotals

TIGHT_RANGE = EphemeralRange(40000, 40099, frozenset(), "/proc/sys/net/ipv4/ip_local_port_range")
DATABASE = ("203.0.113.9", 5432)
API = ("203.0.113.12", 443)
CLOSE_WAIT_PER_STEP = (2, 5, 9)
QUEUES = {3000: (129, 128), 5432: (100, 128), 443: (3, 511)}
"""Listener port -> (connections waiting, backlog)."""


def towards(
    remote: tuple[str, int], count: int, owner: Owner, time_wait: int = 0
) -> tuple[Socket, ...]:
    """`count` connections from consecutive range ports; the first `time_wait` have closed."""
    return tuple(
        Socket(
            "tcp",
            "ipv4",
            SERVER_IP,
            TIGHT_RANGE.low + n,
            *remote,
            "TIME_WAIT" if n < time_wait else "ESTABLISHED",
            None if n < time_wait else owner,
        )
        for n in range(count)
    )


def leaked(count: int) -> tuple[Socket, ...]:
    """Node's accepted connections whose clients hung up and node never closed."""
    return tuple(
        Socket("tcp", "ipv4", SERVER_IP, 3000, CLIENT_IP, 51000 + n, "CLOSE_WAIT", NODE)
        for n in range(count)
    )


def _with_queue(sock: Socket) -> Socket:
    queued, backlog = QUEUES.get(sock.local_port, (0, 128))
    return replace(sock, rx_queue=queued, tx_queue=backlog) if sock.proto == "tcp" else sock


def pressure_snapshot(step: int = 0) -> Snapshot:
    """Step 0, 1, 2...: the same pressure, and a CLOSE_WAIT count that rises each step."""
    leak = CLOSE_WAIT_PER_STEP[min(step, len(CLOSE_WAIT_PER_STEP) - 1)]
    connections = (
        *CONNECTIONS,
        *towards(DATABASE, 95, PYTHON, time_wait=60),
        *towards(API, 75, NODE),
        *towards(("203.0.113.80", 443), 3, CURL),
        *leaked(leak),
    )
    return replace(
        demo_snapshot(taken_at=DEMO_TIME + 2 * step),
        ephemeral_range=TIGHT_RANGE,
        listeners=tuple(_with_queue(s) for s in LISTENERS),
        connections=connections,
        totals=SocketTotals(tcp_time_wait=60, tcp_tw_reuse=2),
    )


def pressure_steps(count: int = len(CLOSE_WAIT_PER_STEP)) -> list[Snapshot]:
    return [pressure_snapshot(step) for step in range(count)]
