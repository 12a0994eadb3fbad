"""Helpers for dashboard tests, on top of the shared demo scenes."""

from __future__ import annotations

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from demo.scenes import StoppedClock, demo_app, first_frame, next_poll, until
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.help import HelpScreen
from portscope.view.columns import Row

FakeClock = StoppedClock
__all__ = [
    "FakeClock",
    "demo_app",
    "first_frame",
    "help_rows",
    "next_poll",
    "row_on_screen",
    "screen_lines",
    "until",
]


def screen_lines(app: App[object]) -> list[str]:
    """The active screen as a person sees it now: its lines as the compositor draws them,
    notifications and dialogs included."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def help_rows(app: App[object]) -> dict[str, str]:
    """What the open help screen says keys do: {description: the keys it lists}."""
    assert isinstance(app.screen, HelpScreen)
    rows = {}
    for row in app.screen.query(".help-row"):
        keys, text = (str(s.render()) for s in row.query(Static))
        rows[text] = keys
    return rows


async def row_on_screen(pilot: Pilot, app: PortscopeApp, port: int) -> Row:
    """The Listening pane's row of a real listener on `port`, once a poll brought it."""
    rows = app.listening.table.model.rows
    await until(pilot, lambda: any(r.payload.local_port == port for r in rows.values()), tries=500)
    return next(r for r in rows.values() if r.payload.local_port == port)
