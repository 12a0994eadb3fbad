"""Time one large Delta landing on the dashboard's panes, headless, until repainted.

The snapshots are built in memory (a UI cost is measured here, not the OS): `rows`
loopback connections, then the same minus `churn` of them plus `churn` new ones.
The clock stops when the screen has rendered the frame the Delta caused: a callback
queued with `call_after_refresh` runs only once the screen has nothing left to paint.
That wall time includes the screen's wait for its next frame slot (at most 1/60 s,
as in a real terminal); the event loop's CPU time in the same window is the work.
Headless, the frame is composed but not encoded for a terminal.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from itertools import pairwise

from portscope.delta import Delta, carry_index
from portscope.model import EphemeralRange, Owner, Snapshot, Socket

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


@dataclass(frozen=True, slots=True)
class Applied:
    """Median seconds until the repaint was done (`wall`), and of event-loop CPU."""

    wall: float
    cpu: float


def time_delta_apply(rows: int, churn: int, repeat: int = 5) -> Applied:
    """From handing the app a poll of `churn` added and `churn` removed rows to the end
    of the repaint it causes; each sample moves the window on by `churn` rows."""
    from portscope.ui.app import PortscopeApp

    polls = [snapshot(range(n * churn, rows + n * churn)) for n in range(repeat + 1)]

    async def measure() -> Applied:
        app = PortscopeApp(collect=lambda: polls[0], interval=60.0)
        walls, cpus = [], []
        async with app.run_test(size=SIZE) as pilot:
            while app.ephemeral.context is None:
                await pilot.pause(0.05)
            app.poller.pause()
            await pilot.pause()
            for sequence, (old, new) in enumerate(pairwise(polls), 2):
                carry_index(old, new)  # as the poller does, so the panes find it made
                delta = Delta.between(old, new)
                painted = asyncio.Event()
                started, cpu = time.perf_counter(), time.thread_time()
                app.show_snapshot(new, delta, sequence)
                app.call_after_refresh(painted.set)
                await painted.wait()
                walls.append(time.perf_counter() - started)
                cpus.append(time.thread_time() - cpu)
                await pilot.pause()
        return Applied(statistics.median(walls), statistics.median(cpus))

    return asyncio.run(measure())
