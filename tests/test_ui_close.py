"""Closing one connection from its row: a real child's loopback pair, closed through
SOCK_DESTROY from the dashboard, is gone from `ss` while the child lives on; a
listener's row is refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import needs_root
from connection_holder import ends_in_ss, holder, report
from portscope.config import Config
from portscope.model import Socket
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.confirm import ConfirmScreen
from portscope.ui.widgets.socket_pane import SocketPane
from ui_support import until

pytestmark = [needs_root, pytest.mark.root]


async def select_row(pilot, pane: SocketPane, local_port: int, remote_port: int | None) -> None:
    """Wait for the socket's row in `pane`, then put the cursor on it, focused."""
    model = pane.table.model

    def key() -> object:
        for row in model.rows.values():
            sock = row.payload
            if isinstance(sock, Socket) and (sock.local_port, sock.remote_port) == (
                local_port,
                remote_port,
            ):
                return row.key
        return None

    await until(pilot, lambda: key() is not None and model.index_of(key()) is not None, tries=500)
    index = model.index_of(key())
    assert index is not None
    pane.table.focus()
    pane.table.cursor = index
    await pilot.pause()


def notes(app: PortscopeApp) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def test_a_connection_closed_from_its_row_is_gone_and_its_process_lives_on(
    tmp_path: Path,
) -> None:
    with holder() as (proc, ports):
        app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
        async with app.run_test(size=(120, 36)) as pilot:
            await select_row(pilot, app.ephemeral, ports["doomed"], ports["port"])
            await pilot.press("K")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert isinstance(app.screen, ConfirmScreen)
            question = app.screen.question
            ends = f"tcp 127.0.0.1:{ports['doomed']} -> 127.0.0.1:{ports['port']}"
            assert f"{ends} (ESTABLISHED), held by python" in question
            assert f"(pid {proc.pid})" in question
            assert len(ends_in_ss(ports["doomed"], ports["port"])) == 2
            await pilot.press("y")
            await until(pilot, lambda: f"Closed {ends} (ESTABLISHED)." in notes(app), tries=500)
        assert sorted(report(proc, 2)) == ["client ECONNABORTED", "server ECONNRESET"]
        assert ends_in_ss(ports["doomed"], ports["port"]) == set()
        assert len(ends_in_ss(ports["spared"], ports["port"])) == 2
        assert proc.poll() is None


async def test_a_listener_row_is_refused_with_the_reason(tmp_path: Path) -> None:
    with holder() as (proc, ports):
        app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
        async with app.run_test(size=(120, 36)) as pilot:
            await select_row(pilot, app.listening, ports["port"], None)
            await pilot.press("K")
            await until(pilot, lambda: "Not closed:" in notes(app))
            assert not isinstance(app.screen, ConfirmScreen)
            assert "that is a listener; stop its process to close it" in notes(app)
        assert len(ends_in_ss(ports["doomed"], ports["port"])) == 2
        assert proc.poll() is None
