"""The socket table repaints only the lines that changed, and never leaves one stale."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from portscope.ui.widgets.socket_table import SocketTable
from portscope.view.columns import Column, Columns, Row
from portscope.view.socket_cells import row_age
from ui_support import FakeClock

COLUMNS: Columns[tuple[int, str]] = Columns(
    Column("name", "name", 12, grow=True, cell=lambda nt: nt[1], sort=lambda nt: nt[0]),
    Column("age", "age", 6, align="right", live=row_age),
)


def row(n: int, text: str, first_seen: float) -> Row:
    return COLUMNS.row(n, (n, text), first_seen=first_seen)


class TableApp(App[None]):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.table = SocketTable(COLUMNS, clock=clock)

    def compose(self) -> ComposeResult:
        yield self.table


def screen_text(app: TableApp) -> list[str]:
    """The lines as the compositor would send them now, cached lines and all."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


@asynccontextmanager
async def filled(count: int) -> AsyncIterator[tuple[TableApp, Pilot[None], FakeClock]]:
    """A running table of `count` rows, after one more update once the scrollbar has
    taken its place (the first one after it appears re-lays out the whole table)."""
    clock = FakeClock()
    app = TableApp(clock)
    async with app.run_test(size=(40, 10)) as pilot:
        app.table.update_rows([row(n, f"row {n}", clock.now) for n in range(count)])
        await pilot.pause()
        app.table.update_rows([row(count - 1, f"row {count - 1}", clock.now)])
        await pilot.pause()
        yield app, pilot, clock


async def repainted_in_full(app: TableApp, pilot: Pilot[None]) -> list[str]:
    app.table.refresh()
    await pilot.pause()
    return screen_text(app)


async def test_a_changed_row_and_a_row_marked_gone_are_repainted() -> None:
    async with filled(12) as (app, pilot, clock):
        table = app.table
        table.model.rows[7].gone_at = clock.now
        table.update_rows([row(3, "changed", clock.now)])
        await pilot.pause()
        partial = screen_text(app)
        assert any("changed" in line for line in partial)
        assert partial == await repainted_in_full(app, pilot)


async def test_removed_rows_and_the_clock_leave_no_line_stale() -> None:
    async with filled(12) as (app, pilot, clock):
        table = app.table
        table.update_rows(removals=[5])
        clock.advance(61)
        table.refresh_rows()
        await pilot.pause()
        partial = screen_text(app)
        assert not any("row 5" in line for line in partial)
        assert sum("1m01s" in line for line in partial) == table.page_height
        assert partial == await repainted_in_full(app, pilot)


async def test_an_update_off_screen_repaints_nothing() -> None:
    async with filled(50) as (app, pilot, clock):
        table = app.table
        table.update_rows([row(40, "far below", clock.now)], removals=[45])
        assert not table._repaint_required
        await pilot.pause()
        table.refresh_rows()
        assert not table._repaint_required
        table.update_rows([row(2, "on screen", clock.now)])
        assert table._repaint_required
