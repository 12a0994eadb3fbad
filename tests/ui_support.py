"""Helpers for dashboard tests, on top of the shared demo scenes."""

from __future__ import annotations

from textual.app import App

from portscope.ui.scenes import StoppedClock, demo_app, first_frame, next_poll, until

FakeClock = StoppedClock
__all__ = ["FakeClock", "demo_app", "first_frame", "next_poll", "screen_lines", "until"]


def screen_lines(app: App[object]) -> list[str]:
    """The screen's lines as the compositor would send them to the terminal now."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
