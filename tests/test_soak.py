"""A bounded soak: the real poller, collector and dashboard under churn stay flat.

Caches (owners, inode placements, decoded addresses) must be bounded by what exists
now, not by everything ever seen; threads and fds must not creep up. The soak is a
fixed amount of work (polls published, connections churned), however long that takes
on a busy machine; the time limit only turns a stalled poller or churn into a failure.
How fast the poller goes is `benchmarks/run.py`'s business.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading
import time
from pathlib import Path

import psutil

from demo.scenes import first_frame
from portscope.collect import Collector
from portscope.config import Config
from portscope.poller import Poller, PollEvent
from portscope.ui.app import PortscopeApp

WARM_UP_POLLS = 30
SOAK_POLLS = 70
SOAK_CONNECTIONS = 2000
"""Connections opened and closed after the warm-up: a leak per socket ever seen shows."""
STALL_LIMIT = 120.0
"""Seconds either stretch of work may take: several times what it needs at 0.25 s a poll."""
MAX_RSS_GROWTH = 12 * 1024 * 1024
POOL_HEADROOM = min(32, (os.cpu_count() or 1) + 4)
"""asyncio's default thread pool (the poller's worker) starts its threads lazily, up to
this many; a leak would add one per poll, far beyond it."""


RESET_ON_CLOSE = struct.pack("ii", 1, 0)


def churn(listener: socket.socket, stop: threading.Event, counter: list[int]) -> None:
    """Open and close loopback connections, a few hundred a second.

    Closing with a reset leaves no TIME_WAIT behind, so the socket count stays level
    and any growth would be portscope's own.
    """
    address = listener.getsockname()
    while not stop.is_set():
        with socket.create_connection(address, timeout=1) as client:
            server, _ = listener.accept()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            server.close()
        counter[0] += 1
        time.sleep(0.002)


class Churn:
    """A loopback listener and a thread that churns connections to it until stopped."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.stop = threading.Event()
        self.opened = [0]
        self.worker = threading.Thread(
            target=churn, args=(self.listener, self.stop, self.opened), daemon=True
        )

    def __enter__(self) -> Churn:
        self.worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.worker.join(5)
        self.listener.close()


def usage(me: psutil.Process) -> tuple[int, int, int]:
    return me.memory_info().rss, me.num_threads(), me.num_fds()


async def work_done(poller: Poller, load: Churn, polls: int, connections: int = 0) -> None:
    """Return once `poller` has published `polls` more updates and `load` has opened
    `connections` more connections, checked at each poll."""
    polls_due, opened_due = poller.sequence + polls, load.opened[0] + connections
    done = asyncio.Event()

    def check(_event: PollEvent) -> None:
        if poller.sequence >= polls_due and load.opened[0] >= opened_due:
            done.set()

    unsubscribe = poller.subscribe(check)
    try:
        await asyncio.wait_for(done.wait(), STALL_LIMIT)
    except asyncio.TimeoutError:
        raise AssertionError(
            f"stalled: {poller.sequence}/{polls_due} polls, {load.opened[0]}/{opened_due} "
            f"connections after {STALL_LIMIT:g} s"
        ) from None
    finally:
        unsubscribe()


async def test_the_dashboard_under_churn_keeps_memory_threads_and_fds_flat(
    tmp_path: Path,
) -> None:
    """The real app on the real poller: tables, first-seen ages, the sparkline and the
    health history must all be bounded by what exists now."""
    me = psutil.Process()
    app = PortscopeApp(interval=0.25, config=Config(), config_file=tmp_path / "config.toml")
    with Churn() as load:
        async with app.run_test(size=(120, 36)) as pilot:
            await first_frame(pilot)
            await work_done(app.poller, load, WARM_UP_POLLS)
            baseline = usage(me)
            await work_done(app.poller, load, SOAK_POLLS, SOAK_CONNECTIONS)
            final = usage(me)
            assert str(load.listener.getsockname()[1]) in {
                r.cell("port") for r in app.listening.table.model.rows.values()
            }
    assert final[0] - baseline[0] < MAX_RSS_GROWTH, (baseline, final)
    assert final[1] <= baseline[1] + POOL_HEADROOM, (baseline, final)
    assert final[2] <= baseline[2] + 2, (baseline, final)


async def test_soak_under_churn_keeps_memory_threads_and_fds_flat() -> None:
    me = psutil.Process()
    collector = Collector()
    poller = Poller(collector.collect, interval=0.25)
    with Churn() as load:
        task = asyncio.create_task(poller.run())
        try:
            await work_done(poller, load, WARM_UP_POLLS)
            baseline = usage(me)
            await work_done(poller, load, SOAK_POLLS, SOAK_CONNECTIONS)
            final = usage(me)
        finally:
            poller.stop()
            await task
    assert final[0] - baseline[0] < MAX_RSS_GROWTH, (baseline, final)
    assert final[1] <= baseline[1] + POOL_HEADROOM, (baseline, final)
    assert final[2] <= baseline[2] + 2, (baseline, final)  # the churn's own socket in flight
    assert len(collector.owner_cache) < 50
    assert poller.latest is not None
    assert os.getpid() in {s.pid for s in poller.latest.sockets}
