"""Garbage collection is held while the dashboard starts and resumes once the first
poll, good or failed, is on screen; a hold never re-enables what it did not pause."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.scenes import demo_app, first_frame, until
from portscope.config import Config
from portscope.model import Snapshot
from portscope.ui.app import PortscopeApp
from portscope.view.lifecycle import STARTUP, StartupHold


@pytest.fixture
def held() -> Iterator[None]:
    """The app's start-up hold taken, as `portscope` takes it; collection on afterwards."""
    assert gc.isenabled()
    STARTUP.hold()
    try:
        yield
    finally:
        STARTUP.release()
        gc.enable()


def test_a_hold_pauses_and_its_release_resumes() -> None:
    hold = StartupHold()
    hold.hold()
    try:
        assert not gc.isenabled()
    finally:
        hold.release()
    assert gc.isenabled()


def test_a_hold_leaves_collection_paused_by_someone_else_paused() -> None:
    gc.disable()
    try:
        hold = StartupHold()
        hold.hold()
        hold.release()
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_collection_resumes_once_the_first_poll_is_shown(held: None, tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        assert not gc.isenabled()
        await first_frame(pilot)
        await until(pilot, gc.isenabled)
        assert app.ephemeral.context is not None  # the first poll's rows went in first


async def test_collection_resumes_when_the_first_poll_fails(held: None, tmp_path: Path) -> None:
    def failing() -> Snapshot:
        raise OSError("/proc/net/tcp vanished")

    app = PortscopeApp(failing, 60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, gc.isenabled)
        assert app.shown is None
