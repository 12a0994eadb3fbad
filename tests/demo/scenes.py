"""Scripted walks through the dashboard on demo data, shared by tests and screenshots.

Each scene drives the real app with a Pilot, the way a person would, and waits for the
asynchronous parts (polls, workers) to land, so a picture never catches a half frame.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from demo.server import DEMO_TIME, SSH_CONNECTION, ScriptedSource, demo_details, demo_snapshot
from portscope.config import Config
from portscope.model import Owner, Snapshot
from portscope.processes import ProcessDetails, describe_process
from portscope.session import current_session
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.detail import ProcessScreen
from portscope.ui.screens.history import HistoryScreen
from portscope.ui.screens.pressure import PressureScreen
from portscope.ui.screens.traffic import TrafficScreen

S = TypeVar("S", bound=Screen[object])

NO_HISTORY = Path("/nonexistent/portscope-demo/history.db")
"""No recorder's database: the demo's History is its session's, whatever this machine holds."""


class StoppedClock:
    """Time that only moves when told to: ages and highlights stay put for pictures."""

    def __init__(self, now: float = DEMO_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def demo_or_real_details(owner: Owner) -> ProcessDetails:
    """The demo's facts for its own processes; /proc's for a real one a test added."""
    return demo_details(owner) or describe_process(owner)


def demo_app(
    config_file: Path,
    snapshots: list[Snapshot] | None = None,
    clock: StoppedClock | None = None,
    interval: float = 60.0,
) -> PortscopeApp:
    """The real app and the real Poller, fed scripted snapshots, seen from an SSH session."""
    return PortscopeApp(
        ScriptedSource(snapshots or [demo_snapshot()]),
        interval,
        clock=clock or StoppedClock(),
        session=current_session({"SSH_CONNECTION": SSH_CONNECTION}),
        config=Config(),
        config_file=config_file,
        describe=demo_or_real_details,
        history_db=NO_HISTORY,
    )


async def until(pilot: Pilot, condition: Callable[[], object], tries: int = 200) -> None:
    """Let the app run until `condition()` holds."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition never became true")


def _app(pilot: Pilot) -> PortscopeApp:
    app = pilot.app
    assert isinstance(app, PortscopeApp)
    return app


async def first_frame(pilot: Pilot) -> None:
    """Wait for the first poll on screen; stop cursors blinking."""
    app = _app(pilot)
    await until(pilot, lambda: app.shown is not None)
    for box in app.query(Input):
        box.cursor_blink = False
    await pilot.pause()


async def look_up(pilot: Pilot, query: str) -> None:
    """Type `query` in the lookup box and wait for its card."""
    app = _app(pilot)
    await pilot.press("ctrl+l", *query)
    await until(pilot, lambda: app.lookup.shown_query == query and app.lookup.border_subtitle)


def select_listener(pilot: Pilot, port: int) -> None:
    """Put the Listening pane's cursor on the listener of `port`."""
    table = _app(pilot).listening.table
    key = next(k for k, r in table.model.rows.items() if r.payload.local_port == port)
    table.cursor = table.model.index_of(key) or 0


async def open_process(pilot: Pilot, port: int) -> ProcessScreen:
    """Put the cursor on the listener of `port`, press Enter, wait for the details."""
    app = _app(pilot)
    select_listener(pilot, port)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, ProcessScreen))
    screen = app.screen
    assert isinstance(screen, ProcessScreen)
    await until(pilot, lambda: screen.details is not None)
    return screen


async def next_poll(pilot: Pilot) -> None:
    """Ask the poller for one more poll and wait until the app has shown it."""
    app = _app(pilot)
    seen = app.poller.sequence
    app.poller.poll_now()
    await until(pilot, lambda: app.poller.sequence > seen and app.shown is app.poller.latest)
    await pilot.pause()


async def analysed(pilot: Pilot) -> None:
    """Wait until the health report of the newest poll has reached the app."""
    app = _app(pilot)
    await until(
        pilot,
        lambda: (
            app.health is not None
            and app.poller.latest is not None
            and app.health.taken_at == app.poller.latest.taken_at
        ),
    )
    await pilot.pause()


async def traffic_reported(pilot: Pilot) -> None:
    """Wait until the traffic report of the newest poll has reached the app."""
    app = _app(pilot)
    await until(
        pilot,
        lambda: (
            app.live.traffic is not None
            and app.poller.latest is not None
            and app.live.traffic.taken_at == app.poller.latest.taken_at
        ),
    )
    await pilot.pause()


async def open_traffic(pilot: Pilot, polls: int = 0) -> TrafficScreen:
    """Let `polls` more polls in (rates need two), press T, wait for the view's lists."""
    for _ in range(polls):
        await next_poll(pilot)
    await traffic_reported(pilot)
    screen = await open_screen(pilot, "T", TrafficScreen)
    await until(pilot, lambda: screen.lists["processes"].lines)
    await pilot.pause()
    return screen


async def open_pressure(pilot: Pilot, polls: int = 2) -> PressureScreen:
    """Let `polls` more polls in (trends need them), press p, wait for the view."""
    for _ in range(polls):
        await next_poll(pilot)
    await analysed(pilot)
    screen = await open_screen(pilot, "p", PressureScreen)
    await pilot.pause()
    return screen


def history_steps() -> list[Snapshot]:
    """The demo server, then curl's two connections gone (step 1), then a poll after the
    session's ledger has settled their ends."""
    return [
        demo_snapshot(),
        demo_snapshot(1, taken_at=DEMO_TIME + 5),
        demo_snapshot(1, taken_at=DEMO_TIME + 10),
    ]


async def open_history(pilot: Pilot, clock: StoppedClock) -> HistoryScreen:
    """Let the two later polls in, move the clock past them, press h, wait for the rows."""
    app = _app(pilot)
    for _ in range(2):
        await next_poll(pilot)
    clock.advance(15)
    await until(pilot, lambda: app.session_history.last_use(60630, now=clock()).last)
    return await open_history_view(pilot)


async def open_history_view(pilot: Pilot) -> HistoryScreen:
    """Press h and wait for the History view's first read of its source."""
    screen = await open_screen(pilot, "h", HistoryScreen)
    await until(pilot, lambda: screen.pane.sourced is not None)
    await pilot.pause()
    return screen


async def open_screen(pilot: Pilot, key: str, kind: type[S]) -> S:
    """Press `key` and wait until a screen of `kind` is on top; that screen."""
    app = _app(pilot)
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, kind))
    screen = app.screen
    assert isinstance(screen, kind)
    return screen
