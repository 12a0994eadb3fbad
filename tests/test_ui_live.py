"""End to end: the real app, the real collector and poller, a socket this test opened."""

from __future__ import annotations

from pathlib import Path

from portscope.config import Config
from portscope.ui.app import PortscopeApp
from sockets import SocketFarm
from ui_support import until


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
