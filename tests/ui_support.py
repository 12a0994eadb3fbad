"""Helpers for dashboard tests, on top of the shared demo scenes."""

from __future__ import annotations

from textual.pilot import Pilot

from portscope.ui.app import PortscopeApp
from portscope.ui.scenes import StoppedClock, demo_app, first_frame, until

FakeClock = StoppedClock
__all__ = ["FakeClock", "demo_app", "first_frame", "next_poll", "until"]


async def next_poll(pilot: Pilot) -> None:
    """Ask the poller for one more poll and wait until the app has shown it."""
    app = pilot.app
    assert isinstance(app, PortscopeApp)
    seen = app.poller.sequence
    app.poller.poll_now()
    await until(pilot, lambda: app.poller.sequence > seen and app.shown is app.poller.latest)
    await pilot.pause()
