"""End to end: the real app, the real collector and poller, a socket this test opened."""

from __future__ import annotations

import os
from pathlib import Path

from demo.scenes import analysed, open_pressure
from portscope.config import Config
from portscope.ui.app import PortscopeApp
from sockets import SocketFarm
from ui_support import next_poll, until


async def test_a_listener_opened_by_the_test_appears_on_screen(
    tmp_path: Path, farm: SocketFarm
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    app = PortscopeApp(interval=0.5, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.listening.table
        await until(
            pilot,
            lambda: any(r.payload.local_port == port for r in table.model.rows.values()),
            tries=500,
        )
        await pilot.press("slash", *str(port), "enter")
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(1, 4)]
        assert any(f" {port} " in line and "loopback only" in line for line in lines), lines


async def test_a_real_close_wait_leak_is_flagged_within_two_polls(
    tmp_path: Path, farm: SocketFarm
) -> None:
    """Peers hang up and this test never closes its side: the count grows poll by poll."""
    listener = farm.tcp_listener("127.0.0.1")

    def leak(count: int) -> None:
        for _client, server in farm.connect(listener, count):
            farm.release(server)

    app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.shown is not None, tries=500)
        await analysed(pilot)
        leak(2)
        await next_poll(pilot)
        await analysed(pilot)
        leak(3)
        await next_poll(pilot)
        await analysed(pilot)
        screen = await open_pressure(pilot, polls=0)
        findings = str(screen.findings.render())
        mine = f"(pid {os.getpid()}): "
        assert any(mine in line and "growing" in line for line in findings.splitlines()), findings
        line = next(line for line in findings.splitlines() if mine in line)
        assert line.endswith("2 -> 5 (socket leak?)"), line
