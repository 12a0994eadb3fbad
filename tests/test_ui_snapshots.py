"""Pictures of the dashboard on demo data: fixed clock, host, pids; no blinking cursor.

Review `snapshot_report.html` before `pytest --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from demo.pressure import pressure_steps
from demo.scenes import (
    StoppedClock,
    analysed,
    demo_app,
    first_frame,
    history_steps,
    look_up,
    next_poll,
    open_history,
    open_pressure,
    open_process,
    open_traffic,
    traffic_reported,
)
from demo.traffic import traffic_steps


def test_main_screen_80x24(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    assert snap_compare(app, terminal_size=(80, 24), run_before=first_frame)


def test_main_screen_120x36(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    assert snap_compare(app, terminal_size=(120, 36), run_before=first_frame)


async def lookup_60630(pilot: Pilot) -> None:
    await first_frame(pilot)
    await look_up(pilot, "60630")


def test_lookup_of_60630(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    assert snap_compare(app, terminal_size=(120, 36), run_before=lookup_60630)


async def nginx_details(pilot: Pilot) -> None:
    await first_frame(pilot)
    await open_process(pilot, 443)


def test_process_detail(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    assert snap_compare(app, terminal_size=(100, 30), run_before=nginx_details)


async def help_screen(pilot: Pilot) -> None:
    await first_frame(pilot)
    await pilot.press("question_mark")


def test_help(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    assert snap_compare(app, terminal_size=(120, 36), run_before=help_screen)


async def pressure_view(pilot: Pilot) -> None:
    await first_frame(pilot)
    await open_pressure(pilot)


def test_pressure_view_80x24(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", pressure_steps())
    assert snap_compare(app, terminal_size=(80, 24), run_before=pressure_view)


def test_pressure_view_120x36(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", pressure_steps())
    assert snap_compare(app, terminal_size=(120, 36), run_before=pressure_view)


async def pressed_main_screen(pilot: Pilot) -> None:
    await first_frame(pilot)
    await analysed(pilot)


def test_main_screen_under_pressure_80x24(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", pressure_steps())
    assert snap_compare(app, terminal_size=(80, 24), run_before=pressed_main_screen)


async def traffic_view(pilot: Pilot) -> None:
    await first_frame(pilot)
    await open_traffic(pilot, polls=5)


def test_traffic_view_80x24(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", traffic_steps())
    assert snap_compare(app, terminal_size=(80, 24), run_before=traffic_view)


def test_traffic_view_120x36(snap_compare, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", traffic_steps())
    assert snap_compare(app, terminal_size=(120, 36), run_before=traffic_view)


async def moving_data(pilot: Pilot) -> None:
    await first_frame(pilot)
    for _ in range(2):
        await next_poll(pilot)
    await traffic_reported(pilot)


def test_main_screen_moving_data_80x24(snap_compare, tmp_path: Path) -> None:
    """Rates in the Ephemeral pane, a flagged connection, the header's throughput."""
    app = demo_app(tmp_path / "config.toml", traffic_steps())
    assert snap_compare(app, terminal_size=(80, 24), run_before=moving_data)


def history_view(clock: StoppedClock):  # type: ignore[no-untyped-def]
    async def scene(pilot: Pilot) -> None:
        await first_frame(pilot)
        await open_history(pilot, clock)

    return scene


def test_history_view_80x24(snap_compare, tmp_path: Path) -> None:
    clock = StoppedClock()
    app = demo_app(tmp_path / "config.toml", history_steps(), clock)
    assert snap_compare(app, terminal_size=(80, 24), run_before=history_view(clock))


def test_history_view_120x36(snap_compare, tmp_path: Path) -> None:
    clock = StoppedClock()
    app = demo_app(tmp_path / "config.toml", history_steps(), clock)
    assert snap_compare(app, terminal_size=(120, 36), run_before=history_view(clock))
