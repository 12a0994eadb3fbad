"""The lookup pane: results as you type, errors inline, and lookups from other panes."""

from __future__ import annotations

from pathlib import Path

from demo.scenes import select_listener
from portscope.knowledge import QueryError, parse_query
from ui_support import demo_app, first_frame, until


def card_text(app) -> str:
    return str(app.lookup.card.render())


async def test_typing_60630_shows_the_card_with_live_use(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("ctrl+l", *"60630")
        await until(pilot, lambda: "Port 60630" in card_text(app))
        text = card_text(app)
        assert "Port 60630" in text
        assert "vite (pid 3105, dev)" in text
        assert "Check" in text


async def test_bad_query_is_an_inline_error(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    bad = "70000-1"
    try:
        parse_query(bad)
    except QueryError as exc:
        expected = str(exc)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("ctrl+l", *bad)
        await until(pilot, lambda: expected in card_text(app))
        assert app.lookup.query_box.has_class("-invalid")


async def test_l_on_a_row_looks_up_its_port(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await first_frame(pilot)
        select_listener(pilot, 5432)
        await pilot.press("l")
        await until(pilot, lambda: "Port 5432" in card_text(app))
        assert app.lookup.query_box.value == "5432"
        assert app.focused is app.lookup.query_box


async def test_any_pasted_text_is_answered_inline_and_the_app_keeps_running(
    tmp_path: Path,
) -> None:
    """Pastes go through the same debounced path as typing; each gets its own answer."""
    app = demo_app(tmp_path / "config.toml")
    pastes = ["9" * 10_000, "\x1b[31m\x00\x07ssh", "[bold red]x[/]", "(.*)+$^[\\", "٦٠٦٣٠"]
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("ctrl+l")
        for text in pastes:
            app.lookup.query_box.value = ""
            app.lookup.query_box.insert_text_at_cursor(text)
            typed = app.lookup.query_box.value.strip()
            try:
                parse_query(typed)
            except QueryError as exc:
                expected = str(exc)
            else:
                expected = "match"
            await until(
                pilot, lambda e=expected: e in card_text(app) + str(app.lookup.border_subtitle)
            )
            assert app.is_running
        app.lookup.query_box.value = "60630"
        await until(pilot, lambda: "Port 60630" in card_text(app))
