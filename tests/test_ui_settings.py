"""Settings the dashboard remembers between runs: the interval chosen with + and -."""

from __future__ import annotations

from pathlib import Path

from demo.server import ScriptedSource, demo_snapshot
from portscope.config import Config, load_config, save_config
from portscope.ui.app import PortscopeApp
from ui_support import demo_app, first_frame


async def test_the_chosen_interval_is_saved(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    app = demo_app(config_file, interval=2.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await pilot.press("plus")
        chosen = app.poller.interval
    assert chosen != 2.0
    assert load_config(config_file)[0].interval == chosen


async def test_a_saved_interval_is_used_when_none_is_given(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    save_config(Config(interval=5.0), config_file)
    app = PortscopeApp(ScriptedSource([demo_snapshot()]), config_file=config_file)
    assert app.poller.interval == 5.0
    given = PortscopeApp(ScriptedSource([demo_snapshot()]), 1.0, config_file=config_file)
    assert given.poller.interval == 1.0


async def test_a_bad_setting_is_a_notice_in_plain_text(tmp_path: Path) -> None:
    """The warning names the file, whose path may look like markup, and what was wanted."""
    config_file = tmp_path / "[b]odd" / "config.toml"
    config_file.parent.mkdir()
    config_file.write_text('interval = "[b]soon"\n')
    app = PortscopeApp(ScriptedSource([demo_snapshot()]), config_file=config_file)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        (notice,) = app._notifications
    assert notice.message.startswith(f"{config_file}: ignoring bad value for 'interval' (wanted")
    assert not notice.markup and app.poller.interval == Config().interval
