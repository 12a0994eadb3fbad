"""Helpers for dashboard tests: a settable clock and an app on scripted snapshots."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from portscope.config import Config
from portscope.demo import DEMO_TIME, SSH_CONNECTION, ScriptedSource, demo_snapshot
from portscope.model import Snapshot
from portscope.session import current_session
from portscope.ui.app import PortscopeApp


class FakeClock:
    """Time that only moves when a test moves it."""

    def __init__(self, now: float = DEMO_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def demo_app(
    tmp_path: Path,
    snapshots: list[Snapshot] | None = None,
    clock: FakeClock | None = None,
    interval: float = 60.0,
) -> PortscopeApp:
    """The real app and the real Poller, fed scripted snapshots; config kept in tmp_path."""
    source = ScriptedSource(snapshots or [demo_snapshot()])
    return PortscopeApp(
        source,
        interval,
        clock=clock or FakeClock(),
        session=current_session({"SSH_CONNECTION": SSH_CONNECTION}),
        config=Config(),
        config_file=tmp_path / "config.toml",
    )


async def until(pilot: Pilot, condition, tries: int = 200) -> None:
    """Let the app run until `condition()` holds (polls and workers are asynchronous)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition never became true")


async def first_frame(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, PortscopeApp)
    await until(pilot, lambda: app.shown is not None)
    for box in app.query(Input):
        box.cursor_blink = False
    await pilot.pause()


async def next_poll(pilot: Pilot) -> None:
    """Ask the poller for one more poll and wait until the app has shown it."""
    app = pilot.app
    assert isinstance(app, PortscopeApp)
    seen = app.poller.sequence
    app.poller.poll_now()
    await until(pilot, lambda: app.poller.sequence > seen and app.shown is app.poller.latest)
    await pilot.pause()
