"""The `/` box takes filter expressions: on real loopback sockets through the real
collector, the pane shows what `ss` selects with the same expression."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from portscope.config import Config
from portscope.ui.app import PortscopeApp
from sockets import SocketFarm
from ss import SS_TIMEOUT, plain_address, split_endpoint
from ui_support import screen_lines, until

pytestmark = pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")

Ends = tuple[str, int, str, int]


def ss_established_to(port: int) -> set[Ends]:
    """What `ss state established '( dport = :PORT )'` selects over TCP."""
    done = subprocess.run(
        ["ss", "-tnH", "state", "established", f"( dport = :{port} )"],
        capture_output=True,
        text=True,
        timeout=SS_TIMEOUT,
        check=True,
    )
    found = set()
    for line in done.stdout.splitlines():
        fields = line.split()
        local, peer = split_endpoint(fields[2]), split_endpoint(fields[3])
        found.add((plain_address(local[0]), int(local[1]), plain_address(peer[0]), int(peer[1])))
    return found


def shown_ends(app: PortscopeApp) -> set[Ends]:
    model = app.ephemeral.table.model
    rows = (model.row_at(i).payload for i in range(len(model)))
    return {
        (s.local_address, s.local_port, s.remote_address or "", s.remote_port or 0) for s in rows
    }


async def test_an_expression_selects_what_ss_selects(tmp_path: Path, farm: SocketFarm) -> None:
    """Established clients of one port; the same port's closing clients, and another
    port's clients, are left out by both."""
    listener = farm.tcp_listener("127.0.0.1")
    other = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    farm.connect(listener, 3)
    farm.connect(other, 2)
    for _client, server in farm.connect(listener, 2):
        farm.release(server)  # the client side is CLOSE_WAIT, not established
    expected = ss_established_to(port)
    assert len(expected) == 3
    app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.ephemeral.table
        await until(
            pilot,
            lambda: sum(r.payload.remote_port == port for r in table.model.rows.values()) >= 5,
            tries=500,
        )
        table.focus()
        await pilot.press("slash", *f"state established and dport = :{port}")
        await pilot.pause()
        assert shown_ends(app) == expected
        assert "filtered" in str(app.ephemeral.border_title)


async def test_a_bad_expression_says_where_beside_the_box(
    tmp_path: Path, farm: SocketFarm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In words (NO_COLOR), with the position; the table keeps the last valid filter."""
    monkeypatch.setenv("NO_COLOR", "1")
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    farm.connect(listener, 2)
    app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.ephemeral.table
        await until(
            pilot,
            lambda: sum(r.payload.remote_port == port for r in table.model.rows.values()) >= 2,
            tries=500,
        )
        table.focus()
        await pilot.press("slash", *f"dport = :{port}")
        await pilot.pause()
        assert len(shown_ends(app)) == 2
        end = len(f"dport = :{port} or (") + 1
        await pilot.press(*" or (")
        await pilot.pause()
        shown = " ".join(line.strip("│ ") for line in screen_lines(app))
        assert f"✖ at {end}: expected a term after '('" in shown
        assert f"still showing the last valid filter: dport = :{port}" in shown
        assert len(shown_ends(app)) == 2
