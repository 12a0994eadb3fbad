"""Pilot tests of the dashboard's behaviour on scripted snapshots through the real Poller."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette

from demo.scenes import open_process
from demo.server import HOSTILE_NAME, ScriptedSource, demo_snapshot, with_sockets
from portscope.config import Config, load_config
from portscope.delta import Delta
from portscope.model import Snapshot, Socket
from portscope.poller import PollFailed, PollUpdate
from portscope.resolve import Resolver
from portscope.ui.actions import ACTIONS, key_names
from portscope.ui.app import INTERVALS, PollArrived, PortscopeApp
from portscope.ui.screens.help import HelpScreen
from ui_support import (
    FakeClock,
    demo_app,
    first_frame,
    help_rows,
    next_poll,
    screen_lines,
    until,
)


async def test_first_frame_fills_both_socket_panes(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        assert app.listening.table.model.total == len(demo_snapshot().listeners)
        ports = {r.payload.local_port for r in app.ephemeral.table.model.rows.values()}
        assert ports == {41822, 45010, 52344, 52346, 53012}
        assert "web-01" in str(app.header.hosts.render())


async def test_tab_moves_between_panes(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        assert app.focused is app.listening.table
        await pilot.press("tab")
        assert app.focused is app.ephemeral.table
        await pilot.press("tab")
        assert app.focused is app.lookup.query_box
        await pilot.press("shift+tab")
        assert app.focused is app.ephemeral.table


async def test_filter_matches_any_column_and_escape_clears(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        await pilot.press("slash", *"POSTGRES")
        assert [r.payload.local_port for r in _rows(table)] == [5432]
        await pilot.press("enter")
        assert app.focused is table
        assert len(table.model) == 1
        await pilot.press("slash", "escape")
        assert len(table.model) == len(demo_snapshot().listeners)
        assert not app.listening.filter_box.display


async def test_a_regex_matches_within_a_cell(tmp_path: Path) -> None:
    """`re:` patterns run on each cell, so `$` is the end of the port, not of the row."""
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        await pilot.press("slash", *"re:^(80|443)$")
        assert sorted(r.payload.local_port for r in _rows(table)) == [80, 443]
        await pilot.press("ctrl+u", *"re:30$")
        assert [r.payload.local_port for r in _rows(table)] == [60630]
        await pilot.press("ctrl+u", *"re:^tcp.*443")
        assert _rows(table) == []


async def test_a_bad_regex_says_so_beside_the_box_and_keeps_the_last_valid_filter(
    tmp_path: Path, monkeypatch
) -> None:
    """In words on screen, so NO_COLOR (where red is not red) shows it too."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        await pilot.press("slash", *"re:^(80|443)$")
        assert sorted(r.payload.local_port for r in _rows(table)) == [80, 443]
        await pilot.press("(")
        await pilot.pause()
        shown = " ".join(line.strip("│ ") for line in screen_lines(app))
        assert "✖ at 4: bad regular expression: missing ): ^(80|443)$(" in shown
        assert "still showing the last valid filter: re:^(80|443)$" in shown
        assert sorted(r.payload.local_port for r in _rows(table)) == [80, 443]
        assert "2 of" in str(app.listening.border_title)
        await pilot.press("escape")
        await pilot.pause()
        assert "bad regular expression" not in "\n".join(screen_lines(app))
        assert len(table.model) == len(demo_snapshot().listeners)


async def test_huge_paste_with_control_characters_does_not_break_the_filter(
    tmp_path: Path,
) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("slash")
        app.listening.filter_box.insert_text_at_cursor("\x1b[31m\x00" + "a" * 10_000)
        await pilot.pause()
        assert len(app.listening.table.model) == 0
        await pilot.press("escape")
        assert len(app.listening.table.model) == len(demo_snapshot().listeners)


async def test_sort_key_cycles_columns_and_header_click_reverses(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        ports = [r.payload.local_port for r in _rows(table)]
        assert ports == sorted(ports)
        await pilot.press("S")
        assert [r.payload.local_port for r in _rows(table)] == sorted(ports, reverse=True)
        visible = table.visible_columns
        assert "iface" not in visible and "exposure" in visible  # iface gives way here
        await pilot.press("s")
        assert table.model.sort_column == "exposure"
        assert "exposure" in app.listening.border_subtitle
        sorted_by = set()
        for _ in table.columns:
            await pilot.press("s")
            sorted_by.add(table.model.sort_column)
        assert sorted_by == set(visible)
        while table.model.sort_column == "proto":
            await pilot.press("s")
        await pilot.click(table, offset=(1, 0))
        assert table.model.sort_column == "proto"
        assert not table.model.reverse
        await pilot.click(table, offset=(1, 0))
        assert table.model.reverse


async def test_space_pauses_and_resumes_polling(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("space")
        assert app.poller.paused
        assert "paused" in str(app.header.paused.render())
        await pilot.press("space")
        assert not app.poller.paused
        assert "paused" not in str(app.header.paused.render())


async def test_plus_and_minus_change_the_interval_within_bounds(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", interval=2.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("minus")
        assert app.poller.interval == 5.0
        await pilot.press("plus", "plus")
        assert app.poller.interval == 1.0
        assert "1s" in str(app.header.polling.render())
        for _ in INTERVALS:
            await pilot.press("plus")
        assert app.poller.interval == INTERVALS[0]


async def test_cursor_stays_on_its_row_when_rows_arrive_above_it(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml", [demo_snapshot(0), demo_snapshot(1)])
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("tab")
        table = app.ephemeral.table
        table.sort_by("lport", reverse=False)
        await pilot.press("down", "down")
        key = table.cursor_row.key
        await next_poll(pilot)
        assert table.cursor_row.key == key
        assert table.cursor == 4
        await pilot.press("S")
        assert table.cursor_row.key == key


async def test_new_rows_highlight_and_gone_rows_linger_dimmed(tmp_path: Path) -> None:
    clock = FakeClock()
    app = demo_app(tmp_path / "config.toml", [demo_snapshot(0), demo_snapshot(1)], clock=clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        rows = app.ephemeral.table.model.rows
        assert not any(r.new for r in rows.values())
        clock.advance(2)
        await next_poll(pilot)
        by_port = {r.payload.local_port: r for r in rows.values()}
        assert by_port[46001].new and by_port[46002].new
        assert by_port[41822].gone_at == clock.now
        clock.advance(5)
        app.ephemeral.expire()
        ports = {r.payload.local_port for r in rows.values()}
        assert 41822 not in ports and 53012 not in ports
        assert not any(r.new for r in rows.values())


async def test_all_connections_key_only_in_the_ephemeral_pane(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        assert app.check_action("toggle_all", ()) is False
        await pilot.press("a")
        assert not app.ephemeral.show_all
        await pilot.press("tab", "a")
        assert app.ephemeral.show_all
        assert str(app.ephemeral.border_title).startswith("Connections")
        rows = list(app.ephemeral.table.model.rows.values())
        assert any(r.payload.local_port == 443 for r in rows)
        session = [r for r in rows if r.tag == "session"]
        assert [r.payload.remote_port for r in session] == [50522]
        assert "this session" in session[0].cell("process")


async def test_showing_every_connection_keeps_each_one_s_age_and_marks_none_new(
    tmp_path: Path,
) -> None:
    """`a` brings incoming connections into view that were there all along: they show
    how long they have been seen, not 0s, and are not highlighted as new."""
    clock = FakeClock()
    app = demo_app(tmp_path / "config.toml", clock=clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        clock.advance(30)
        await next_poll(pilot)
        await pilot.press("tab", "a")
        await pilot.pause()
        table = app.ephemeral.table
        incoming = [r for r in table.model.rows.values() if r.payload.local_port == 443]
        assert len(incoming) == 2
        assert not any(r.new for r in incoming)
        lines = [table.render_line(y).text for y in range(1, len(table.model) + 1)]
        shown = [line for line in lines if line.split()[1] == "443"]
        assert len(shown) == 2 and all(line.endswith(" 30s") for line in shown), lines


async def test_exposure_labels_and_all_interfaces_stand_out(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        rows = {r.payload.local_port: r for r in app.listening.table.model.rows.values()}
        assert rows[80].cell("exposure") == "all interfaces" and rows[80].tag == "exposed"
        assert rows[3000].cell("exposure") == "one interface" and rows[3000].cell("iface") == "eth0"
        assert rows[5432].cell("exposure") == "loopback only" and rows[5432].cell("iface") == "lo"
        assert rows[443].cell("conns") == "2"
        assert "your ssh" in rows[22].cell("process")


@pytest.mark.parametrize(("size", "shown"), [((160, 48), True), ((80, 24), False)])
async def test_the_ephemeral_pane_names_each_connection_s_user_when_there_is_room(
    tmp_path: Path, size: tuple[int, int], shown: bool
) -> None:
    """The user column is the first to give way when the pane is narrow."""
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=size) as pilot:
        await first_frame(pilot)
        table = app.ephemeral.table
        rows = _rows(table)
        assert {r.cell("user") for r in rows} == {"dev", "app"}
        assert all(r.cell("user") == r.payload.owner.user for r in rows)
        assert ("user" in table.visible_columns) is shown
        curl = next(y for y, r in enumerate(rows, 1) if r.payload.local_port == 41822)
        assert (" dev " in table.render_line(curl).text) is shown


async def test_hostile_process_names_render_as_inert_text(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(160, 36)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        row = next(r for r in table.model.rows.values() if r.payload.local_port == 9999)
        assert row.cell("process") == "[bold red]evil\\x1b[31m\\u202e"
        table.cursor = table.model.index_of(row.key)
        await pilot.pause()
        line = table.render_line(table.cursor - int(table.scroll_y) + 1)
        assert "[bold red]evil\\x" in line.text
        assert "\x1b" not in line.text and "\u202e" not in line.text
        assert HOSTILE_NAME not in line.text


async def test_resizing_down_to_40x10_shows_a_notice_and_back(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        assert app.has_class("-too-small")
        assert "too small" in str(app.query_one("#too-small").render())
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not app.has_class("-too-small")
        assert app.listening.table.model.total


@pytest.mark.parametrize("pane", ["listening", "ephemeral", "lookup"])
async def test_the_focus_comes_back_after_the_terminal_was_too_small(
    tmp_path: Path, pane: str
) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        focused = {
            "listening": app.listening.table,
            "ephemeral": app.ephemeral.table,
            "lookup": app.lookup.query_box,
        }[pane]
        focused.focus()
        await pilot.pause()
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.focused is focused
        if pane == "lookup":
            return
        await pilot.press("s")
        assert focused.model.sort_column != ("port" if pane == "listening" else "age")
        await pilot.press("slash")
        assert app.focused is getattr(app, pane).filter_box


async def test_maximise_the_focused_pane_and_restore(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        await pilot.press("tab", "z")
        assert app.screen.maximized is app.ephemeral
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_theme_choice_is_remembered(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        app.theme = "nord"
        await pilot.pause()
    assert load_config(tmp_path / "config.toml")[0].theme == "nord"


async def test_palette_offers_the_same_actions(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Pause", "Filter", "Sort", "Zoom", "Theme"} <= titles
        assert "All conns" not in titles
        await pilot.press("tab")
        assert "All conns" in {c.title for c in app.get_system_commands(app.screen)}
        pause = next(c for c in app.get_system_commands(app.screen) if c.title == "Pause")
        pause.callback()
        await until(pilot, lambda: app.poller.paused)


@pytest.mark.parametrize(
    ("typed", "title"), [("filter", "Filter"), ("sort", "Sort"), ("zoom", "Zoom")]
)
async def test_pane_actions_are_found_and_run_from_the_palette(
    tmp_path: Path, typed: str, title: str
) -> None:
    """The palette asks about the screen it was opened from, where the focus is a pane."""
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*typed)
        options = app.screen.query_one(CommandList)
        await until(pilot, lambda: options.option_count > 0 and options.highlighted is not None)
        offered = options.get_option_at_index(options.highlighted)
        assert str(offered.prompt).splitlines()[0] == title
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, CommandPalette))
        if title == "Filter":
            await until(pilot, lambda: app.focused is app.listening.filter_box)
        elif title == "Sort":
            await until(pilot, lambda: table.model.sort_column != "port")
        else:
            await until(pilot, lambda: app.screen.maximized is app.listening)


async def test_help_lists_every_key(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = help_rows(app)
        for action in ACTIONS:
            assert key_names(action, {}) in rows[action.help]
        assert rows["Move the cursor a row"] == "↑, ↓"
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


async def test_q_in_help_closes_it_and_its_footer_says_so(tmp_path: Path) -> None:
    """The dashboard's Footer used to show through below help, saying `q Quit`."""
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert "Close" in footer and "Quit" not in footer
        await pilot.press("q")
        await until(pilot, lambda: app.screen is app.screen_stack[0])
        assert app.return_code is None


@pytest.mark.parametrize("where", ["table", "filter box", "help", "details"])
async def test_ctrl_c_quits_from_anywhere(tmp_path: Path, where: str) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        if where == "filter box":
            await pilot.press("slash", "x")
            assert app.focused is app.listening.filter_box
        elif where == "help":
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        elif where == "details":
            await open_process(pilot, 443)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0


def _rows(table):
    return [table.model.row_at(i) for i in range(len(table.model))]


async def test_n_resolves_peer_names_in_the_background(tmp_path: Path) -> None:
    names = {"203.0.113.80": "cdn.example.net"}

    def resolver(on_resolved):
        return Resolver(on_resolved, lookup=lambda address: names.get(address, address))

    app = PortscopeApp(
        ScriptedSource([demo_snapshot()]),
        60.0,
        clock=FakeClock(),
        config=Config(),
        config_file=tmp_path / "config.toml",
        resolver=resolver,
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)

        def remotes() -> set[str]:
            return {r.cell("remote") for r in app.ephemeral.table.model.rows.values()}

        assert "203.0.113.80" in remotes()
        await pilot.press("n")
        await until(pilot, lambda: "cdn.example.net" in remotes())
        assert "203.0.113.9" in remotes()
        await pilot.press("n")
        assert "203.0.113.80" in remotes()
    assert load_config(tmp_path / "config.toml")[0].numeric


async def test_a_coalesced_poll_is_applied_as_a_fresh_delta(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        later = demo_snapshot(1)
        app.show_snapshot(later, Delta(), app.poller.sequence + 5)
        ports = {r.payload.local_port for r in app.ephemeral.table.model.rows.values()}
        assert {46001, 46002} <= ports


def test_a_newer_poll_replaces_a_queued_one_but_a_failure_never_replaces_data() -> None:
    update = PollArrived(PollUpdate(demo_snapshot(), Delta(), 1))
    newer = PollArrived(PollUpdate(demo_snapshot(1), Delta(), 2))
    failed = PollArrived(PollFailed("OSError: boom", 0.0, 1, 2.0))
    assert newer.can_replace(update)
    assert not failed.can_replace(update)
    assert failed.can_replace(PollArrived(PollFailed("OSError: x", 0.0, 1, 2.0)))


async def test_c_copies_the_selected_socket_row(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await open_process(pilot, 443)
        await pilot.press("c")
        assert "lport=443" in app.clipboard and "state=LISTEN" in app.clipboard
        said = [n.message for n in app._notifications]
        assert any("Sent the row to the terminal's clipboard (OSC 52)" in m for m in said)
        assert not any("Copied" in m for m in said)


async def test_cursor_keeps_its_screen_line_in_a_scrolled_table(tmp_path: Path) -> None:
    many = [
        Socket("tcp", "ipv4", "127.0.0.1", 40000 + n, "127.0.0.2", 443, "ESTABLISHED")
        for n in range(0, 400, 2)
    ]
    more = [
        Socket("tcp", "ipv4", "127.0.0.1", 40001 + n, "127.0.0.2", 443, "ESTABLISHED")
        for n in range(0, 400, 2)
    ]
    first = with_sockets(demo_snapshot(), *many)
    app = demo_app(tmp_path / "config.toml", [first, with_sockets(first, *more)])
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        await pilot.press("tab")
        table = app.ephemeral.table
        table.sort_by("lport", reverse=False)
        await pilot.press("home", "pagedown", "pagedown", "pagedown", "down", "down")
        await pilot.pause()
        key, line = table.cursor_row.key, table.cursor - int(table.scroll_y)
        assert int(table.scroll_y) > 0
        await next_poll(pilot)
        assert table.cursor_row.key == key
        assert table.cursor - int(table.scroll_y) == line
        await pilot.press("S")
        assert table.cursor_row.key == key
        assert table.cursor - int(table.scroll_y) == line


async def test_a_failed_poll_is_reported_and_polling_goes_on(tmp_path: Path) -> None:
    calls = []

    def flaky() -> Snapshot:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("/proc/net/tcp vanished")
        return demo_snapshot()

    app = PortscopeApp(flaky, 60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        app.poller.poll_now()
        await until(pilot, lambda: "poll failed" in str(app.header.notice.render()))
        assert "vanished" in str(app.header.notice.render())
        await next_poll(pilot)
        assert "poll failed" not in str(app.header.notice.render())


async def test_click_selects_a_row_and_double_click_opens_it(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        await pilot.click(table, offset=(2, 3))
        assert table.cursor == 2
        assert app.screen is app.screen_stack[0]
        await pilot.click(table, offset=(2, 3), times=2)
        await until(pilot, lambda: app.screen is not app.screen_stack[0])
