"""End to end: the real app, the real collector and poller, a socket this test opened."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from demo.scenes import analysed, open_pressure
from portscope.config import Config
from portscope.ui.app import PortscopeApp
from sockets import SocketFarm
from ss import SsSocket, ss_sockets
from ui_support import next_poll, row_on_screen, until


async def test_a_listener_opened_by_the_test_appears_on_screen(
    tmp_path: Path, farm: SocketFarm
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    app = PortscopeApp(interval=0.5, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.listening.table
        await row_on_screen(pilot, app, port)
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


def on_port(port: int) -> list[SsSocket]:
    """What `ss` has on local port `port` besides its listener."""
    return [s for s in ss_sockets() if s[2] == port and s[5] != "LISTEN"]


async def test_conns_counts_every_connection_but_time_wait_as_ss_does(
    tmp_path: Path, farm: SocketFarm
) -> None:
    """Two established, three whose peer hung up (CLOSE_WAIT: the server never closed),
    one waiting in the accept queue, and one the server closed first (TIME_WAIT on the
    server's side, the only one that does not count)."""
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    farm.connect(listener, 2)
    for client, _server in farm.connect(listener, 3):
        farm.release(client)
    client, server = farm.connect(listener)[0]
    farm.release(server)
    farm.release(client)
    farm.connect_pending(listener, 1)
    expected = {"ESTABLISHED": 3, "CLOSE_WAIT": 3, "TIME_WAIT": 1}
    for _ in range(500):
        states = Counter(s[5] for s in on_port(port))
        if states == expected:
            break
        time.sleep(0.01)
    assert states == expected
    app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.shown is not None, tries=500)
        table = app.listening.table
        (row,) = [r for r in table.model.rows.values() if r.payload.local_port == port]
        assert row.cell("conns") == str(
            sum(n for state, n in states.items() if state != "TIME_WAIT")
        )
