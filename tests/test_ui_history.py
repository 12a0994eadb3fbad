"""The History view and the lookup pane's History section, on real recorded data: a
real `portscope record` (in a network namespace of its own) against real loopback
connections, or, without a database, this dashboard's own polls of real sockets."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import needs_root
from demo.scenes import open_history_view
from hostile_process import NAME, hostile_holder
from netns import needs_netns
from portscope.config import Config
from portscope.history.records import HistoryFilter
from portscope.recorder.ledger import GRACE
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.history import HistoryScreen
from recording import run_scenario
from sockets import SocketFarm
from ui_support import first_frame, next_poll, screen_lines, until


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A real recorder's database: two connections held over several polls (their
    process known) and four far shorter than a poll, to one loopback listener."""
    if os.geteuid() != 0:
        pytest.skip("needs root (a network namespace for the recorder)")
    directory = tmp_path_factory.mktemp("history")
    directory.chmod(0o700)
    db = directory / "history.db"
    result = run_scenario(["--net"], db=str(db), interval=0.5, held=2, short=4)
    assert result["exit"] == 0, result["stderr"]
    return db, result


def dashboard(tmp_path: Path, history_db: Path) -> PortscopeApp:
    """The real app on this machine's real sockets, reading `history_db`."""
    return PortscopeApp(
        interval=60.0, config=Config(), config_file=tmp_path / "config.toml", history_db=history_db
    )


def shown_rows(screen: HistoryScreen) -> list[Any]:
    model = screen.pane.table.model
    return [model.row_at(i) for i in range(len(model))]


def to_listener(screen: HistoryScreen, port: int) -> dict[int, Any]:
    """The rows of connections to 127.0.0.1:`port`, by their client port."""
    found = {}
    for row in shown_rows(screen):
        if row.cell("remote").startswith(f"127.0.0.1:{port} "):
            found[int(row.cell("local").rpartition(":")[2])] = row
    return found


@needs_root
@needs_netns
async def test_the_history_view_lists_a_recorders_connections_with_port_process_and_remote(
    recorded: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    db, result = recorded
    port, comm, pid = result["listener_port"], result["comm"], result["pid"]
    app = dashboard(tmp_path, db)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_history_view(pilot)
        rows = to_listener(screen, port)
        assert set(rows) == {*result["held"], *result["short"]}
        for client in result["held"]:
            assert rows[client].cell("process") == f"{comm} (pid {pid})"
            assert rows[client].cell("remote") == f"127.0.0.1:{port} ({comm})"
            assert rows[client].cell("event") == "closed"
        listened = [r for r in shown_rows(screen) if r.cell("event") == "listen+"]
        assert f"127.0.0.1:{port}" in [r.cell("local") for r in listened]
        summary = str(screen.summary.render())
        assert f"from the recorder's database {db}" in summary
        assert "with the kernel's socket-end events" in summary
        text = "\n".join(screen_lines(app))
        assert f"127.0.0.1:{port}" in text and str(result["held"][0]) in text


@needs_root
@needs_netns
async def test_the_history_view_filters_with_the_panes_expressions(
    recorded: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    db, result = recorded
    port, held = result["listener_port"], result["held"][0]
    app = dashboard(tmp_path, db)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_history_view(pilot)
        every = len(screen.pane.table.model)
        await pilot.press("slash", *f"sport = {held}")
        await pilot.pause()
        (only,) = shown_rows(screen)
        assert only.cell("local") == f"127.0.0.1:{held}"
        assert "of" in screen.pane.border_title and "filtered" in screen.pane.border_title
        screen.pane.filter_box.value = f"dport = {port} and process = {result['comm']}"
        await pilot.pause()
        assert set(to_listener(screen, port)) == set(result["held"])
        assert len(screen.pane.table.model) == len(result["held"])
        screen.pane.filter_box.value = "dport = = 1"
        await pilot.pause()
        assert screen.pane.filter_note.display
        assert "✖" in str(screen.pane.filter_note.render())
        assert len(screen.pane.table.model) == len(result["held"])  # the last valid one
        await pilot.press("escape")
        await pilot.pause()
        assert len(screen.pane.table.model) == every


@needs_root
@needs_netns
async def test_enter_on_a_gone_processs_row_looks_up_its_port_with_the_history_line(
    recorded: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    db, result = recorded
    port, comm, held = result["listener_port"], result["comm"], result["held"][0]
    app = dashboard(tmp_path, db)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_history_view(pilot)
        table = screen.pane.table
        table.cursor = next(i for i, r in enumerate(shown_rows(screen))
                            if r.cell("local") == f"127.0.0.1:{held}")  # fmt: skip
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is app.screen_stack[0])
        await until(pilot, lambda: "History" in str(app.lookup.card.render()))
        card = str(app.lookup.card.render())
        assert app.lookup.shown_query == str(held)
        assert f"{held}: last borrowed" in card
        assert f"by {comm} (pid {result['pid']}) → 127.0.0.1:{port} ({comm})" in card
        assert "1 time in 24 h" in card


async def test_without_a_database_the_view_shows_what_this_sessions_polls_saw_end(
    tmp_path: Path, farm: SocketFarm
) -> None:
    absent = tmp_path / "no-recorder" / "history.db"
    app = dashboard(tmp_path, absent)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        listener = farm.tcp_listener("127.0.0.1")
        ((client, server),) = farm.connect(listener, 1)
        client_port, port = client.getsockname()[1], listener.getsockname()[1]
        await next_poll(pilot)
        farm.release(client)
        farm.release(server)
        await next_poll(pilot)
        time.sleep(GRACE)
        await next_poll(pilot)
        wanted = HistoryFilter(time.time() - 60, time.time() + 60, port=port)
        await until(pilot, lambda: app.session_history.recent(wanted).connections)
        screen = await open_history_view(pilot)
        rows = to_listener(screen, port)
        assert list(rows) == [client_port]
        assert rows[client_port].cell("process").endswith(f"(pid {os.getpid()})")
        summary = str(screen.summary.render())
        assert f"this dashboard session's polls (no recorder's database at {absent})" in summary
        assert "polls only: connections shorter than 60 s are missed" in summary
        await pilot.press("h")
        await until(pilot, lambda: app.screen is app.screen_stack[0])
        await pilot.press("ctrl+l", *str(client_port))
        await until(pilot, lambda: "last borrowed" in str(app.lookup.card.render()))
        card = str(app.lookup.card.render())
        assert f"{client_port}: last borrowed" in card and "1 time in 24 h" in card
        assert "from this dashboard session's polls (no recorder's database)" in card


async def test_a_corrupt_database_is_named_in_the_view_and_the_dashboard_goes_on(
    tmp_path: Path, farm: SocketFarm
) -> None:
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    db = directory / "history.db"
    db.write_bytes(b"this is no SQLite database\n" * 200)
    db.chmod(0o600)
    app = dashboard(tmp_path, db)
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        screen = await open_history_view(pilot)
        summary = str(screen.summary.render())
        assert f"✖ {db}: not an SQLite database, or a damaged one" in summary
        assert "showing this dashboard session's polls instead" in summary
        await pilot.press("h")
        await until(pilot, lambda: app.screen is app.screen_stack[0])
        listener = farm.tcp_listener("127.0.0.1")
        port = listener.getsockname()[1]
        await next_poll(pilot)  # the polls go on
        await pilot.press("ctrl+l", *str(port))
        await until(pilot, lambda: "History" in str(app.lookup.card.render()))
        card = str(app.lookup.card.render())
        assert "not an SQLite database, or a damaged one; from this dashboard" in card
        assert app.is_running


async def test_a_hostile_process_name_is_shown_as_text_in_the_view(
    tmp_path: Path,
) -> None:
    """A real process named `x[/]y` whose listener goes while the dashboard watches: its
    `listen-` row names it as it is, and the app goes on."""
    with hostile_holder(tmp_path) as (proc, port, _cwd):
        await hostile_listener_goes(tmp_path, proc, port)


async def hostile_listener_goes(tmp_path: Path, proc: subprocess.Popen[bytes], port: int) -> None:
    app = dashboard(tmp_path, tmp_path / "absent" / "history.db")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        await next_poll(pilot)
        wanted = HistoryFilter(time.time() - 60, time.time() + 60, port=port)
        await until(pilot, lambda: app.session_history.recent(wanted).listener_events)
        screen = await open_history_view(pilot)
        (row,) = [r for r in shown_rows(screen) if r.cell("local") == f"127.0.0.1:{port}"]
        assert row.cell("event") == "listen-"
        assert row.cell("process") == f"{NAME} (pid {proc.pid})"
        assert f"{NAME} (pid {proc.pid})" in "\n".join(screen_lines(app))
        assert app.is_running
