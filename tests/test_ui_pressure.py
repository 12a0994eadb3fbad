"""The pressure view, header gauge, listener queues and CLOSE_WAIT in process details,
driven by scripted snapshots through the real Poller and the real health analysis."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Static

from demo.pressure import API, DATABASE, PYTHON, TIGHT_RANGE, pressure_steps, towards
from demo.scenes import analysed, open_pressure, open_process
from demo.server import NODE, ScriptedSource, demo_snapshot, with_sockets
from portscope.analysis import Thresholds
from portscope.model import Snapshot
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.help import HelpScreen
from portscope.ui.screens.pressure import PressureScreen
from ui_support import demo_app, first_frame, help_rows, next_poll, until


def tight(*connections_to: tuple[tuple[str, int], int]) -> Snapshot:
    """The demo server on a 100-port range with `count` connections to each destination."""
    base = replace(demo_snapshot(), ephemeral_range=TIGHT_RANGE)
    extra = [s for dest, count in connections_to for s in towards(dest, count, PYTHON)]
    return with_sockets(base, *extra)


def header_level(app: PortscopeApp) -> str:
    return next((c for c in ("-critical", "-warning") if app.header.has_class(c)), "ok")


def shown_text(widget: Static) -> str:
    return str(widget.render())


def gauge_styles(app: PortscopeApp) -> str:
    return " ".join(str(span.style) for span in app.header.usage.render().spans)


async def test_pressure_view_lists_destinations_by_pressure_with_levels(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", pressure_steps())
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_pressure(pilot)
        rows = [screen.table.model.row_at(i) for i in range(len(screen.table.model))]
        assert [r.cell("remote") for r in rows] == [
            "203.0.113.9:5432",
            "203.0.113.12:443",
            "203.0.113.80:443",
        ]
        assert [(r.cell("in_use"), r.cell("percent"), r.cell("level")) for r in rows] == [
            ("95/100", "95%", "critical"),
            ("75/100", "75%", "warning"),
            ("3/100", "3%", "ok"),
        ]
        assert [r.tag for r in rows] == ["critical", "warning", ""]
        assert rows[0].cell("time_wait") == "60 (63%)"
        assert rows[0].cell("reuse") == "no"
        summary = shown_text(screen.summary)
        assert "2 destinations under pressure (1 critical)" in summary
        assert "tcp_tw_reuse loopback only" in summary
        findings = shown_text(screen.findings)
        assert "CLOSE_WAIT growing in node (pid 2210): 2 -> 5 -> 9" in findings
        assert "192.0.2.10:3000 node (pid 2210): 129 waiting, backlog 128 (full" in findings
        assert "127.0.0.1:5432 postgres (pid 1377): 100 waiting, backlog 128 (filling)" in findings
        assert "0.0.0.0:443" not in findings
        assert "▲ 3 health (p)" in shown_text(app.header.health)
        assert header_level(app) == "-critical"
        await pilot.press("p")
        assert app.screen is app.screen_stack[0]


async def test_header_gauge_follows_the_most_pressed_destination(tmp_path: Path) -> None:
    snapshots = [tight((API, 10)), tight((API, 75)), tight((API, 75), (DATABASE, 95)), tight()]
    app = demo_app(tmp_path / "config.toml", snapshots)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await analysed(pilot)
        assert header_level(app) == "ok"
        assert "max dest 10%" in shown_text(app.header.pressure)
        assert "(203.0.113.12:443)" in shown_text(app.header.pressure_detail)
        await next_poll(pilot)
        await analysed(pilot)
        assert header_level(app) == "-warning"
        assert "$text-warning" in gauge_styles(app)
        assert "max dest 75%" in shown_text(app.header.pressure)
        await next_poll(pilot)
        await analysed(pilot)
        assert header_level(app) == "-critical"
        assert "$text-error" in gauge_styles(app)
        assert "max dest 95%" in shown_text(app.header.pressure)
        assert "(203.0.113.9:5432)" in shown_text(app.header.pressure_detail)
        await next_poll(pilot)
        await analysed(pilot)
        assert header_level(app) == "ok"
        assert not shown_text(app.header.pressure)


async def test_thresholds_come_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("warning = 50\ncritical = 60\n")
    app = PortscopeApp(ScriptedSource([tight((API, 55))]), 60.0, config_file=config)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await analysed(pilot)
        assert app.health is not None and app.health.top_pressure is not None
        assert app.health.top_pressure.level == "warning"
        assert header_level(app) == "-warning"


async def test_contradicting_thresholds_fall_back_to_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("warning = 95\ncritical = 60\n")
    app = PortscopeApp(ScriptedSource([tight((API, 55))]), 60.0, config_file=config)
    assert app.thresholds == Thresholds()
    assert any("warning <= critical" in w for w in app.config_warnings)


async def test_empty_pressure_view_says_so_plainly(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", [tight((API, 10))])
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        screen = await open_pressure(pilot, polls=0)
        assert "no destination is under pressure (highest 10%)" in shown_text(screen.summary)
        assert "no process holds CLOSE_WAIT sockets" in shown_text(screen.findings)
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


async def test_open_pressure_view_follows_new_polls(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", [tight((API, 10)), tight((DATABASE, 92))])
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        screen = await open_pressure(pilot, polls=0)
        await next_poll(pilot)
        await analysed(pilot)
        assert isinstance(app.screen, PressureScreen)
        top = screen.table.model.row_at(0)
        assert (top.cell("remote"), top.cell("percent"), top.tag) == (
            "203.0.113.9:5432",
            "92%",
            "critical",
        )


async def test_listener_rows_flag_full_and_filling_accept_queues(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", pressure_steps())
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        rows = {r.payload.local_port: r for r in app.listening.table.model.rows.values()}
        assert (rows[3000].cell("queue"), rows[3000].tag) == ("full 129/128", "critical")
        assert (rows[5432].cell("queue"), rows[5432].tag) == ("100/128", "warning")
        assert (rows[443].cell("queue"), rows[443].tag) == ("3/511", "exposed")
        assert rows[22].cell("queue") == ""
        assert rows[3000].cell("process") == "node ✖ queue full"
        assert rows[5432].cell("process") == "postgres ▲ queue 78%"
        assert rows[443].cell("process") == "nginx"


async def test_process_details_show_a_growing_close_wait_count(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", pressure_steps())
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        for _ in range(2):
            await next_poll(pilot)
        await analysed(pilot)
        screen = await open_process(pilot, 3000)
        assert screen.owner == NODE
        health = screen.query_one("#process-health", Static)
        assert "CLOSE_WAIT growing in node (pid 2210): 2 -> 5 -> 9" in shown_text(health)
        await next_poll(pilot)
        await analysed(pilot)
        assert "CLOSE_WAIT held in node (pid 2210): 2 -> 5 -> 9 -> 9" in shown_text(health)


async def test_process_without_close_wait_says_none(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", pressure_steps())
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await analysed(pilot)
        screen = await open_process(pilot, 443)
        health = screen.query_one("#process-health", Static)
        assert "CLOSE_WAIT: none held by this process" in shown_text(health)


async def test_p_is_a_discoverable_binding(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        binding = next(b for b in app.BINDINGS if getattr(b, "id", None) == "portscope.pressure")
        assert binding.key == "p" and binding.tooltip
        assert "Pressure" in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "CLOSE_WAIT leaks" in binding.tooltip
        assert help_rows(app)[binding.tooltip] == "p"
