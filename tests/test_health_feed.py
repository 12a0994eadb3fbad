"""The dashboard's health feed: every poll analysed in order, on its own thread."""

from __future__ import annotations

import asyncio
import threading

from demo.pressure import pressure_steps
from demo.server import ScriptedSource
from portscope.analysis import HealthReport
from portscope.poller import Poller
from portscope.view.health_feed import HealthFeed


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
