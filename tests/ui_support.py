"""Helpers for dashboard tests, on top of the shared demo scenes."""

from __future__ import annotations

from demo.scenes import StoppedClock, demo_app, first_frame, next_poll, until

FakeClock = StoppedClock
__all__ = ["FakeClock", "demo_app", "first_frame", "next_poll", "until"]
