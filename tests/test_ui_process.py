"""Process details, terminate and kill against a real child process, and the refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from textual.widgets import Static

from demo.scenes import open_process, select_listener
from demo.server import demo_snapshot, with_sockets
from portscope.model import Owner, Socket
from portscope.ui.screens.confirm import ConfirmScreen
from portscope.ui.screens.detail import ProcessScreen
from portscope.view.socket_cells import format_age
from ui_support import FakeClock, demo_app, first_frame, next_poll, until

VICTIM_PORT = 47001


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A real process the test may terminate; reaped whatever happens."""
    proc = subprocess.Popen(["sleep", "120"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def victim_socket(proc: subprocess.Popen[bytes]) -> Socket:
    info = psutil.Process(proc.pid)
    owner = Owner(proc.pid, "sleep", info.username(), ("sleep", "120"), info.create_time())
    return Socket("tcp", "ipv4", "127.0.0.1", VICTIM_PORT, None, None, "LISTEN", owner, 4242)


def screen_text(screen) -> str:
    return "\n".join(str(w.render()) for w in screen.query(Static))


async def test_details_show_cmdline_user_and_sockets(tmp_path: Path, victim) -> None:
    app = demo_app(tmp_path / "config.toml", [with_sockets(demo_snapshot(), victim_socket(victim))])
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_process(pilot, VICTIM_PORT)
        text = screen_text(screen)
        assert f"sleep (pid {victim.pid})" in text
        assert "sleep 120" in text
        assert screen.table.model.total == 1
        assert app.lookup.shown_query == str(VICTIM_PORT)
        await pilot.press("l")
        await until(pilot, lambda: app.lookup.shown_query == str(VICTIM_PORT))
        assert app.focused is app.lookup.query_box


async def ask(pilot, key: str) -> str:
    """Press `key` on the detail screen; the text of the confirmation it opens."""
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    return screen_text(pilot.app.screen)


async def test_terminate_asks_first_and_no_leaves_it_running(tmp_path: Path, victim) -> None:
    app = demo_app(tmp_path / "config.toml", [with_sockets(demo_snapshot(), victim_socket(victim))])
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await open_process(pilot, VICTIM_PORT)
        question = await ask(pilot, "t")
        assert "SIGTERM" in question and f"sleep (pid {victim.pid})" in question
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ProcessScreen))
        assert victim.poll() is None
        await ask(pilot, "t")
        await pilot.press("y")
        assert victim.wait(timeout=10) == -signal.SIGTERM


async def test_kill_needs_two_confirmations(tmp_path: Path, victim) -> None:
    app = demo_app(tmp_path / "config.toml", [with_sockets(demo_snapshot(), victim_socket(victim))])
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await open_process(pilot, VICTIM_PORT)
        assert "SIGKILL" in await ask(pilot, "k")
        await pilot.press("y")
        await until(pilot, lambda: "Second confirmation" in screen_text(app.screen))
        assert victim.poll() is None
        assert f"pid {victim.pid}" in screen_text(app.screen)
        await pilot.press("y")
        assert victim.wait(timeout=10) == -signal.SIGKILL


RELOADER = """
import signal, sys
signal.signal(signal.SIGHUP, lambda *_: print("reloaded", flush=True))
print("ready", flush=True)
while True:
    signal.pause()
"""


@pytest.fixture
def reloader() -> Iterator[subprocess.Popen[str]]:
    """A real child that reloads on SIGHUP (says so on stdout) and keeps running; SIGINT
    stops it as ctrl+c would."""
    proc = subprocess.Popen([sys.executable, "-c", RELOADER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def owned_socket(proc: subprocess.Popen[str]) -> Socket:
    info = psutil.Process(proc.pid)
    owner = Owner(proc.pid, info.name(), info.username(), tuple(info.cmdline()), info.create_time())
    return Socket("tcp", "ipv4", "127.0.0.1", VICTIM_PORT, None, None, "LISTEN", owner, 4242)


async def test_reload_sends_sighup_after_asking_and_the_process_lives_on(
    tmp_path: Path, reloader
) -> None:
    """`r`: SIGHUP, asked once with the process and pid named; `i`: SIGINT likewise."""
    name = psutil.Process(reloader.pid).name()
    app = demo_app(
        tmp_path / "config.toml", [with_sockets(demo_snapshot(), owned_socket(reloader))]
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_process(pilot, VICTIM_PORT)
        assert "r reload (SIGHUP), i interrupt (SIGINT)" in screen_text(screen)
        question = await ask(pilot, "r")
        assert "Send SIGHUP" in question and f"{name} (pid {reloader.pid})" in question
        assert "reloads its configuration" in question
        await pilot.press("y")
        assert reloader.stdout is not None and reloader.stdout.readline() == "reloaded\n"
        await until(pilot, lambda: any("Sent SIGHUP" in n.message for n in app._notifications))
        assert reloader.poll() is None
        question = await ask(pilot, "i")
        assert "Send SIGINT" in question and f"(pid {reloader.pid})" in question
        await pilot.press("y")
        assert reloader.wait(timeout=10) != 0


async def test_pid_1_is_refused_with_a_reason(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_process(pilot, 631)
        assert "refused" in screen_text(screen) and "init process" in screen_text(screen)
        assert screen.check_action("signal", (signal.SIGTERM,)) is None
        assert screen.check_action("signal", (signal.SIGKILL,)) is None
        assert screen.check_action("signal", (signal.SIGHUP,)) is None
        assert screen.check_action("signal", (signal.SIGINT,)) is None
        await pilot.press("t", "k", "r", "i")
        await pilot.pause()
        assert app.screen is screen


async def test_a_pid_that_now_belongs_to_another_process_is_not_signalled(
    tmp_path: Path, victim
) -> None:
    stale = victim_socket(victim)
    owner = stale.owner
    assert owner is not None and owner.create_time is not None
    reused = Owner(owner.pid, owner.name, owner.user, owner.cmdline, owner.create_time - 1000)
    sock = Socket("tcp", "ipv4", "127.0.0.1", VICTIM_PORT, None, None, "LISTEN", reused, 4242)
    app = demo_app(tmp_path / "config.toml", [with_sockets(demo_snapshot(), sock)])
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_process(pilot, VICTIM_PORT)
        text = screen_text(screen)
        assert "exited; its pid now belongs to another process" in text
        assert "nothing to signal" in text
        assert screen.check_action("signal", (signal.SIGTERM,)) is None
        await pilot.press("t", "y", "k", "y", "y")
        await pilot.pause()
        assert app.screen is screen
        assert victim.poll() is None


async def test_enter_on_a_socket_with_a_hidden_owner_explains_why(tmp_path: Path) -> None:
    app = demo_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        select_listener(pilot, 53)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert any("another user" in n.message for n in app._notifications)
        await until(pilot, lambda: "Port 53 " in str(app.lookup.card.render()))
        assert app.focused is app.lookup.query_box


async def test_details_follow_the_process_each_poll_and_after_a_signal(
    tmp_path: Path, victim
) -> None:
    """Its age moves on with each poll; after SIGTERM it is shown as exited, and
    terminate and kill no longer apply."""
    clock = FakeClock(time.time())
    snapshots = [with_sockets(demo_snapshot(), victim_socket(victim))]
    app = demo_app(tmp_path / "config.toml", snapshots, clock=clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        screen = await open_process(pilot, VICTIM_PORT)
        assert "status   sleeping" in screen_text(screen)
        clock.advance(125)
        age = format_age(clock.now - psutil.Process(victim.pid).create_time())
        assert age.startswith("2m")
        await next_poll(pilot)
        await until(pilot, lambda: f"({age} ago)" in screen_text(screen))
        await pilot.press("t", "y")
        assert victim.wait(timeout=10) == -signal.SIGTERM
        await next_poll(pilot)
        await until(pilot, lambda: "status   exited" in screen_text(screen))
        assert "nothing to signal" in screen_text(screen)
        assert f"cwd      {os.getcwd()}" in screen_text(screen)
        assert screen.check_action("signal", (signal.SIGTERM,)) is None
