"""The test loop whose clock skips idle waits: it must skip them, and only them.

Poller tests count calls over many intervals on it; a clock that did not skip would
stall them, and one that skipped while a worker thread was busy would fire their
timeouts early and pass or fail them by accident.
"""

from __future__ import annotations

import asyncio
import threading

from fast_clock import on_fast_clock

HOUR = 3600.0


@on_fast_clock
async def test_an_idle_hour_passes_on_the_loop_clock() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(HOUR)
    assert loop.time() - started >= HOUR


@on_fast_clock
async def test_a_timer_waits_for_a_busy_worker_thread() -> None:
    """The thread is let go by another thread a moment of real time later; a clock that
    skipped meanwhile would fire the hour-long timeout first."""
    release = threading.Event()

    def busy() -> str:
        assert release.wait(HOUR), "never released"
        return "done"

    letting_go = threading.Timer(0.05, release.set)
    letting_go.start()
    try:
        assert await asyncio.wait_for(asyncio.to_thread(busy), HOUR) == "done"
    finally:
        release.set()
        letting_go.cancel()
