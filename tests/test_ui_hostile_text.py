"""Text from the system reaches the dashboard as text, never as markup: a real process
named `x[/]y` (a closing tag with nothing to close), and a config file whose path holds
it, once raised MarkupError and ended the app."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Static
from textual.widgets._toast import Toast

from demo.scenes import look_up, open_process
from demo.server import ScriptedSource, demo_snapshot
from hostile_process import ARGUMENTS, NAME, hostile_holder, markup_dir
from portscope.config import Config
from portscope.model import Interface, InterfaceTable
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.confirm import ConfirmScreen
from portscope.ui.screens.detail import ProcessScreen
from ui_support import first_frame, next_poll, row_on_screen, until


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    with hostile_holder(tmp_path) as held:
        yield held


def toasts(app: PortscopeApp) -> list[str]:
    """The notifications on screen, rendered as Textual draws them (`run_test` shows
    none unless asked to)."""
    return [toast.render().plain for toast in app.screen.query(Toast)]


def statics(screen) -> str:
    return "\n".join(str(w.render()) for w in screen.query(Static))


async def test_terminating_a_process_named_like_markup(tmp_path: Path, holder) -> None:
    """Enter on its row, `t`, `y`: the details, the question and the report show the
    name as typed, the app keeps running, and the screen then says it exited."""
    proc, port, cwd = holder
    app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        table = app.listening.table
        row = await row_on_screen(pilot, app, port)
        assert row.cell("process") == NAME
        await look_up(pilot, str(port))
        assert f"{NAME} (pid {proc.pid}, " in str(app.lookup.card.render())
        table.focus()
        screen = await open_process(pilot, port)
        facts = statics(screen)
        assert f"{NAME} (pid {proc.pid})" in facts
        assert " ".join(ARGUMENTS) in facts
        assert f"cwd      {cwd}" in facts
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert f"Send SIGTERM to {NAME} (pid {proc.pid})?" in statics(app.screen)
        await pilot.press("y")
        await until(pilot, lambda: proc.poll() is not None)
        assert proc.returncode == -signal.SIGTERM
        sent = f"Sent SIGTERM to {NAME} (pid {proc.pid})."
        await until(pilot, lambda: sent in toasts(app))
        await pilot.pause()
        assert app.return_code is None
        await next_poll(pilot)
        assert isinstance(app.screen, ProcessScreen)
        await until(pilot, lambda: "status   exited" in statics(screen))
        assert "nothing to signal" in statics(screen)


async def test_a_bad_config_at_a_path_like_markup_is_reported_as_text(tmp_path: Path) -> None:
    config_file = markup_dir(tmp_path) / "config.toml"
    config_file.write_text("interval = [not toml\n")
    app = PortscopeApp(ScriptedSource([demo_snapshot()]), 60.0, config_file=config_file)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await first_frame(pilot)
        await until(pilot, lambda: toasts(app))
        await pilot.pause()
        (warning,) = toasts(app)
        assert warning.startswith(f"{config_file}: not valid TOML")
        assert app.return_code is None


async def test_host_and_interface_names_like_markup_stay_text(tmp_path: Path) -> None:
    """The header is built as Content: brackets from the system are drawn as typed."""
    interfaces = InterfaceTable(interfaces=(Interface("[b]e[/]", ("[/]1",)),), gateways=())
    snapshot = replace(demo_snapshot(), host=NAME, interfaces=interfaces)
    app = PortscopeApp(
        ScriptedSource([snapshot]), 60.0, config=Config(), config_file=tmp_path / "c.toml"
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        assert str(app.header.hosts.render()).startswith(f"{NAME}  [b]e[/] [/]1")
