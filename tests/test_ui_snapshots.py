"""Pictures of the dashboard on demo data: fixed clock, host, pids; no blinking cursor.

Review `snapshot_report.html` before `pytest --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from portscope.ui.screens.detail import ProcessScreen
from ui_support import demo_app, first_frame, until


async def settle(pilot: Pilot) -> None:
    await first_frame(pilot)


def test_main_screen_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(demo_app(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_main_screen_120x36(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(demo_app(tmp_path), terminal_size=(120, 36), run_before=settle)


def test_lookup_of_60630(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+l", *"60630")
        await until(pilot, lambda: "port 60630" in str(app.lookup.card.render()))

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_process_detail(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        table = app.listening.table
        key = next(k for k, r in table.model.rows.items() if r.payload.local_port == 443)
        table.cursor = table.model.index_of(key)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProcessScreen))
        screen = app.screen
        await until(pilot, lambda: screen.details is not None)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_help(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(demo_app(tmp_path), terminal_size=(120, 36), run_before=run_before)
