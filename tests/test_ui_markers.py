"""What matters most in a row or in the header survives narrowing: markers lose the
text before them, not themselves, and the header drops its least important parts
whole. Read from the lines on screen, in colour and under NO_COLOR (where a marker's
text is all there is)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot

from demo.pressure import pressure_steps
from demo.scenes import analysed
from demo.server import with_sockets
from portscope.model import Owner, Socket
from portscope.ui.app import PortscopeApp
from ui_support import demo_app, first_frame, screen_lines

SIZES = [(80, 24), (120, 36)]
PYTHON = Owner(5151, "python3.11", "app", ("python3.11", "-m", "mailer"))
FULL_QUEUE = Socket(
    "tcp", "ipv4", "0.0.0.0", 25, None, None, "LISTEN", PYTHON, 7001, rx_queue=129, tx_queue=128
)


@pytest.fixture(params=[False, True], ids=["colour", "no-colour"])
def no_color(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    return request.param


def row_line(lines: list[str], port: int) -> str:
    """The Listening row of `port`: its third field is the port."""
    (line,) = [line for line in lines if line[1:].split()[2:3] == [str(port)]]
    return line


@asynccontextmanager
async def full_queue_shown(
    tmp_path: Path, size: tuple[int, int]
) -> AsyncIterator[tuple[PortscopeApp, Pilot[int]]]:
    """The demo's pressure steps, each with the full accept queue of port 25 added, on
    screen and analysed."""
    steps = [with_sockets(step, FULL_QUEUE) for step in pressure_steps()]
    app = demo_app(tmp_path / "config.toml", steps)
    async with app.run_test(size=size) as pilot:
        await first_frame(pilot)
        await analysed(pilot)
        yield app, pilot


@pytest.mark.parametrize("size", SIZES)
async def test_listener_markers_stay_whole_in_narrow_columns(
    tmp_path: Path, size: tuple[int, int], no_color: bool
) -> None:
    async with full_queue_shown(tmp_path, size) as (app, _pilot):
        lines = screen_lines(app)
        ssh, mailer, node = (row_line(lines, port) for port in (22, 25, 3000))
        assert "sshd ◀ your ssh" in ssh, ssh
        assert "python3" in mailer and ("✖ queue full" in mailer or "✖ full" in mailer), mailer
        assert "node ✖ queue full" in node or "node ✖ full" in node, node


@pytest.mark.parametrize("size", SIZES)
async def test_the_session_marker_stays_whole_in_the_ephemeral_pane(
    tmp_path: Path, size: tuple[int, int], no_color: bool
) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=size) as pilot:
        await first_frame(pilot)
        await pilot.press("tab", "a")
        await pilot.pause()
        lines = screen_lines(app)
        (session,) = [line for line in lines if "198.51.100.7" in line]
        assert "sshd ◀ this session" in session or "sshd ◀ you" in session, session


@pytest.mark.parametrize("size", SIZES)
async def test_the_header_keeps_pressure_health_and_pause_at_every_width(
    tmp_path: Path, size: tuple[int, int], no_color: bool
) -> None:
    async with full_queue_shown(tmp_path, size) as (app, pilot):
        await pilot.press("space")
        await pilot.pause()
        gauges = screen_lines(app)[1]
        for part in ("max dest 95%", "▲ 3 health (p)", "⏸ paused", "95/100 (95.0%)"):
            assert part in gauges, gauges
        assert "…" not in gauges, gauges
