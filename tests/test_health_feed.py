"""The dashboard's health feed: every poll analysed in order, on its own thread."""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import replace
from pathlib import Path

from demo.pressure import pressure_steps
from demo.server import ScriptedSource, demo_snapshot
from portscope.analysis import HealthReport, HealthTracker
from portscope.delta import Delta
from portscope.failures import Failure
from portscope.model import Socket
from portscope.poller import Poller, PollUpdate
from portscope.view.health_feed import PRESSURE_ROWS, HealthFeed


async def test_every_poll_is_analysed_in_order_off_the_calling_thread() -> None:
    steps = pressure_steps()
    arrived: list[tuple[HealthReport, str]] = []
    done = threading.Event()

    def deliver(report: HealthReport) -> None:
        arrived.append((report, threading.current_thread().name))
        if len(arrived) == len(steps):
            done.set()

    feed = HealthFeed(deliver)
    poller = Poller(ScriptedSource(steps))
    poller.subscribe(feed.on_poll)
    for _ in steps:
        await poller.poll_once()
    assert await asyncio.to_thread(done.wait, 10)
    feed.close()
    assert [r.taken_at for r, _ in arrived] == [s.taken_at for s in steps]
    assert all(name.startswith("portscope-health") for _, name in arrived)
    last = arrived[-1][0]
    assert last.close_wait[0].counts == (2, 5, 9) and last.close_wait[0].growing
    assert feed.latest is last


async def test_a_failed_analysis_is_logged_reported_and_the_next_poll_recounted(
    log_file: Path,
) -> None:
    """A Delta that does not lead from the last poll (it changes a socket that poll never
    had) breaks following it; nobody waits on the feed's thread, so the failure is
    logged there and reported, and the next poll is counted afresh."""
    first = demo_snapshot()
    stranger = Socket("tcp", "ipv4", "127.0.0.1", 40000, "127.0.0.2", 80, "ESTABLISHED")
    delivered: queue.Queue[HealthReport] = queue.Queue()
    reported: queue.Queue[tuple[Failure, str]] = queue.Queue()
    feed = HealthFeed(
        delivered.put,
        on_failure=lambda f: reported.put((f, threading.current_thread().name)),
    )
    feed.on_poll(PollUpdate(first, Delta.between(None, first), 1))
    feed.on_poll(PollUpdate(replace(first), Delta(changed=(stranger,)), 2))
    third = replace(first, taken_at=first.taken_at + 2)
    feed.on_poll(PollUpdate(third, Delta(changed=(stranger,)), 3))
    reports = [await asyncio.to_thread(delivered.get, timeout=10) for _ in range(2)]
    failure, thread = await asyncio.to_thread(reported.get, timeout=10)
    feed.close()
    assert failure.where == "the health analysis" and failure.error.startswith("KeyError")
    assert thread.startswith("portscope-health")
    assert reported.empty(), "the poll after the failure is recounted, not followed"
    assert [r.taken_at for r in reports] == [first.taken_at, third.taken_at]
    recount = HealthTracker(pressure_limit=PRESSURE_ROWS)
    recount.update(first)
    assert reports[1] == recount.update(third)
    log = log_file.read_text()
    assert "ERROR the health analysis failed: KeyError" in log
    assert "Traceback (most recent call last)" in log and "in _analyse" in log
