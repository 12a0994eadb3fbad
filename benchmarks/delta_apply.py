"""Time one large Delta landing on the dashboard's panes, headless, until repainted.

The snapshots are built in memory (a UI cost is measured here, not the OS): `rows`
loopback connections, then the same minus `churn` of them plus `churn` new ones.
"""

from __future__ import annotations

import asyncio
import time

from portscope.model import Delta, EphemeralRange, Owner, Snapshot, Socket

SIZE = (160, 48)
OWNERS = tuple(Owner(pid=1000 + i, name=f"worker{i}", user="root") for i in range(4))
RANGE = EphemeralRange(low=32768, high=60999)


def connection(index: int) -> Socket:
    """A distinct loopback connection: 20k fit in the ephemeral range across 4 addresses."""
    return Socket(
        proto="tcp",
        family="ipv4",
        local_address=f"127.0.0.{10 + index % 4}",
        local_port=RANGE.low + index // 4,
        remote_address=f"127.0.0.{10 + index % 4}",
        remote_port=8000 + index % 4,
        state="ESTABLISHED",
        owner=OWNERS[index % 4],
        inode=100_000 + index,
        uid=0,
        rx_queue=0,
        tx_queue=0,
    )


def snapshot(indices: range) -> Snapshot:
    return Snapshot(
        taken_at=time.time(),
        host="bench",
        privileged=True,
        ephemeral_range=RANGE,
        listeners=(),
        connections=tuple(connection(i) for i in indices),
    )


def time_delta_apply(rows: int, churn: int) -> float:
    """Seconds from handing the app the new poll to the end of the repaint it causes."""
    from portscope.ui.app import PortscopeApp

    before = snapshot(range(rows))
    after = snapshot(range(churn, rows + churn))
    delta = Delta.between(before, after)

    async def measure() -> float:
        app = PortscopeApp(collect=lambda: before, interval=60.0)
        async with app.run_test(size=SIZE) as pilot:
            while app.shown is None:
                await pilot.pause(0.05)
            app.poller.pause()
            await pilot.pause()
            started = time.perf_counter()
            app.show_snapshot(after, delta, app.poller.sequence + 1)
            await pilot.pause()
            return time.perf_counter() - started

    return asyncio.run(measure())
