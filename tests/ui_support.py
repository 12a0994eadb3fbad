"""Helpers for dashboard tests, on top of the shared demo scenes."""

from __future__ import annotations

from textual.app import App

from demo.scenes import StoppedClock, demo_app, first_frame, next_poll, until

FakeClock = StoppedClock
__all__ = ["FakeClock", "demo_app", "first_frame", "next_poll", "screen_lines", "until"]


def screen_lines(app: App[object]) -> list[str]:
    """The active screen as a person sees it now: its lines as the compositor draws them,
    notifications and dialogs included."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
