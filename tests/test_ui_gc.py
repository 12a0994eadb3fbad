"""The dashboard process freezes what lives as long as it out of garbage collections."""

from __future__ import annotations

import gc
from pathlib import Path

from demo.server import ScriptedSource, demo_snapshot
from portscope.config import Config
from portscope.ui.app import PortscopeApp
from portscope.ui.widgets.socket_pane import SocketPane
from ui_support import first_frame, until


def app(tmp_path: Path, freeze: bool) -> PortscopeApp:
    return PortscopeApp(
        ScriptedSource([demo_snapshot()]),
        60.0,
        config=Config(),
        config_file=tmp_path / "config.toml",
        freeze_after_start=freeze,
    )


async def test_objects_are_frozen_once_the_first_poll_fills_every_pane(tmp_path: Path) -> None:
    dashboard = app(tmp_path, freeze=True)
    try:
        async with dashboard.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: gc.get_freeze_count() > 0)
            assert all(pane.context is not None for pane in dashboard.query(SocketPane))
            assert dashboard.ephemeral.table.model.total
    finally:
        gc.unfreeze()


async def test_an_app_not_asked_to_freeze_leaves_collections_alone(tmp_path: Path) -> None:
    before = gc.get_freeze_count()
    dashboard = app(tmp_path, freeze=False)
    async with dashboard.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await until(pilot, lambda: dashboard.ephemeral.context is not None)
        assert gc.get_freeze_count() == before
