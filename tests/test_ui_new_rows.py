"""Rows that sort above the cursor stay in sight: a cursor on the first row follows the
top, and a view scrolled down counts what arrived above it in the pane's title."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from demo.server import demo_snapshot, with_sockets
from portscope.model import Snapshot, Socket
from portscope.ui.app import PortscopeApp
from portscope.ui.widgets.socket_pane import SocketPane
from ui_support import FakeClock, demo_app, first_frame, next_poll

PEER = "203.0.113.77"


def outgoing(*ports: int) -> tuple[Socket, ...]:
    return tuple(
        Socket("tcp", "ipv4", "192.0.2.10", port, PEER, 443, "ESTABLISHED") for port in ports
    )


def polls(base: int, *batches: range) -> list[Snapshot]:
    """A first poll with `base` connections, then one more poll per batch of ports,
    each keeping what came before."""
    snapshots = [with_sockets(demo_snapshot(), *outgoing(*range(41000, 41000 + base)))]
    for batch in batches:
        snapshots.append(with_sockets(snapshots[-1], *outgoing(*batch)))
    return snapshots


def visible_ports(pane: SocketPane) -> list[int]:
    """The local ports of the rows on screen, top first, read from the drawn lines."""
    table = pane.table
    lines = [table.render_line(y).text for y in range(1, table.page_height + 1)]
    return [int(line.split()[1]) for line in lines if line.strip()]


async def poll_later(pilot: Pilot[int], clock: FakeClock) -> None:
    clock.advance(3)
    await next_poll(pilot)


async def started(pilot: Pilot[int]) -> PortscopeApp:
    app = pilot.app
    assert isinstance(app, PortscopeApp)
    await first_frame(pilot)
    await pilot.press("tab")
    return app


async def test_a_cursor_on_the_first_row_follows_the_newest_to_the_top(tmp_path: Path) -> None:
    clock = FakeClock()
    snapshots = polls(40, range(47001, 47004), range(47004, 47007))
    app = demo_app(tmp_path / "config.toml", snapshots, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        pane = app.ephemeral
        assert str(pane.border_subtitle) == "sort: age ▲"
        for newest in (47003, 47006):
            await poll_later(pilot, clock)
            shown = visible_ports(pane)
            assert shown[0] in range(newest - 2, newest + 1), shown
            assert set(range(newest - 2, newest + 1)) <= set(shown), shown
            assert pane.table.cursor == 0 and pane.table.scroll_y == 0
            assert pane.table.cursor_row is not None
            assert pane.table.cursor_row.payload.local_port == shown[0]
            assert "new above" not in str(pane.border_title)


async def test_a_view_at_the_top_stays_there_while_the_cursor_row_is_in_it(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    app = demo_app(tmp_path / "config.toml", polls(40, range(47001, 47003)), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        pane = app.ephemeral
        await pilot.press("down")
        key = pane.table.cursor_row.key
        await poll_later(pilot, clock)
        assert set(visible_ports(pane)[:2]) == {47001, 47002}
        assert pane.table.cursor_row.key == key and pane.table.cursor == 3


async def test_rows_that_arrive_above_a_scrolled_view_are_counted_in_the_title(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    snapshots = polls(40, range(47001, 47004), range(47004, 47009))
    app = demo_app(tmp_path / "config.toml", snapshots, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        pane = app.ephemeral
        await pilot.press("pagedown", "pagedown")
        before = visible_ports(pane)
        line = pane.table.cursor - int(pane.table.scroll_y)
        await poll_later(pilot, clock)
        assert visible_ports(pane) == before
        assert pane.table.cursor - int(pane.table.scroll_y) == line
        assert "· ▲ 3 new above" in str(pane.border_title)
        await poll_later(pilot, clock)
        assert visible_ports(pane) == before
        assert "· ▲ 8 new above" in str(pane.border_title)
        await pilot.press("home")
        await pilot.pause()
        assert visible_ports(pane)[0] in range(47004, 47009)
        assert "new above" not in str(pane.border_title)


async def test_a_new_listener_above_a_cursor_on_the_first_row_comes_into_view(
    tmp_path: Path,
) -> None:
    first = demo_snapshot()
    low = Socket("tcp", "ipv4", "127.0.0.1", 7, None, None, "LISTEN", inode=4321)
    app = demo_app(tmp_path / "config.toml", [first, with_sockets(first, low)])
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        assert table.cursor == 0
        await next_poll(pilot)
        lines = [table.render_line(y).text for y in range(1, 3)]
        assert lines[0].split()[2] == "7", lines
        assert table.cursor == 0 and table.cursor_row.payload.local_port == 7
