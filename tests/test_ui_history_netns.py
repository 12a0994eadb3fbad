"""The History view names each row's network namespace once its rows come from more
than one (as the panes' netns column does), and its filter's `netns` field picks one:
on a history written through the recorder's own store, read by the real dashboard."""

from __future__ import annotations

import time
from pathlib import Path

from textual.pilot import Pilot

from history_rows import connection, write_history
from portscope.config import Config
from portscope.history.records import Who
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.history import HistoryScreen
from portscope.view.columns import Row
from ui_support import first_frame, screen_lines, until

WEB = 4026532999


def dashboard(tmp_path: Path, db: Path) -> PortscopeApp:
    return PortscopeApp(
        interval=60.0, config=Config(), config_file=tmp_path / "config.toml", history_db=db
    )


async def open_history(pilot: Pilot) -> HistoryScreen:
    await pilot.press("h")
    await until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen))
    screen = pilot.app.screen
    assert isinstance(screen, HistoryScreen)
    await until(pilot, lambda: screen.pane.sourced is not None)
    await pilot.pause()
    return screen


def shown(screen: HistoryScreen) -> list[Row]:
    model = screen.pane.table.model
    return [model.row_at(i) for i in range(len(model))]


def header(app: PortscopeApp) -> str:
    return next(line for line in screen_lines(app) if " event " in line)


async def test_rows_of_two_namespaces_show_the_netns_column_and_filter_by_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.db"
    now = time.time()
    web_server = Who(77, "web-server", "root", "web")
    write_history(db, [
        connection(now - 30, 41000, netns=1, netns_name="host"),
        connection(now - 20, 41001, owner=web_server, netns=WEB, netns_name="web"),
    ])  # fmt: skip
    app = dashboard(tmp_path, db)
    async with app.run_test(size=(140, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_history(pilot)
        assert screen.pane.table.situational
        assert " netns " in header(app)
        rows = {r.cell("local"): r for r in shown(screen)}
        assert rows["192.0.2.10:41001"].cell("netns") == "web"
        assert rows["192.0.2.10:41000"].cell("netns") == "host"
        await pilot.press("slash", *"netns = web")
        await pilot.pause()
        assert [r.cell("local") for r in shown(screen)] == ["192.0.2.10:41001"]


async def test_rows_of_one_namespace_leave_the_netns_column_out(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    now = time.time()
    write_history(db, [connection(now - 30 + i, 41000 + i, netns=1, netns_name="host")
                       for i in range(3)])  # fmt: skip
    app = dashboard(tmp_path, db)
    async with app.run_test(size=(140, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_history(pilot)
        assert not screen.pane.table.situational
        assert " netns " not in header(app)
