"""The real `portscope` in a pseudo-terminal: SIGTERM and SIGHUP end it cleanly."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_env


def start_in_pty(interval: str = "1", **env_overrides: str) -> tuple[subprocess.Popen[bytes], int]:
    """The dashboard on its own terminal, once it has drawn its first screen."""
    main, child = pty.openpty()
    env = cli_env(**{"TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24", **env_overrides})
    proc = subprocess.Popen(
        [sys.executable, "-m", "portscope", "--interval", interval],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 30
    while b"Listening" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                seen += os.read(main, 65536)
            except OSError:
                break
    assert b"Listening" in seen, seen[-500:]
    return proc, main


def drain_until_exit(proc: subprocess.Popen[bytes], main: int) -> int:
    """Keep reading the terminal (so the app never blocks writing) until it exits."""
    deadline = time.monotonic() + 20
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                os.read(main, 65536)
            except OSError:
                time.sleep(0.1)
    os.close(main)
    if proc.poll() is None:
        proc.kill()
    return proc.wait(timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_ends_the_dashboard_with_status_0(sig: signal.Signals) -> None:
    proc, main = start_in_pty()
    proc.send_signal(sig)
    assert drain_until_exit(proc, main) == 0


@pytest.mark.parametrize("key", [b"q", b"\x03"], ids=["q", "ctrl+c"])
def test_q_and_ctrl_c_quit_and_restore_the_terminal(key: bytes) -> None:
    proc, main = start_in_pty()
    os.write(main, key)
    tail = b""
    deadline = time.monotonic() + 20
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                tail = (tail + os.read(main, 65536))[-4096:]
            except OSError:
                break
    os.close(main)
    assert proc.wait(timeout=10) == 0
    assert b"\x1b[?1049l" in tail


def first_screen(**env: str) -> bytes:
    """What the dashboard wrote up to its first full screen, then quit with q."""
    proc, main = start_in_pty(**env)
    seen = b""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            seen += os.read(main, 65536)
    os.write(main, b"q")
    assert drain_until_exit(proc, main) == 0
    return seen


def test_a_fifo_for_the_config_file_is_not_waited_on(tmp_path: Path) -> None:
    """config.toml as a FIFO nobody writes to: the dashboard starts on the defaults and
    says why, instead of a blank screen for ever."""
    (tmp_path / "portscope").mkdir()
    os.mkfifo(tmp_path / "portscope" / "config.toml")
    seen = first_screen(XDG_CONFIG_HOME=str(tmp_path))
    assert b"Listening" in seen and b"FIFO" in seen


COLOUR_SGR = re.compile(rb"\x1b\[[0-9;]*(?:38|48);[25];[0-9;]*m")


def test_no_color_on_a_dumb_terminal_draws_without_colour() -> None:
    seen = first_screen(TERM="dumb", NO_COLOR="1")
    assert b"Listening" in seen
    assert not COLOUR_SGR.search(seen)


def test_the_linux_console_works() -> None:
    assert b"Listening" in first_screen(TERM="linux")


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_vanished_terminal_still_lets_the_dashboard_exit(sig: signal.Signals) -> None:
    """An SSH drop closes the terminal first, then signals; writes to it fail from then on,
    and Textual's output queue (30 writes) fills up behind its dead writer thread."""
    proc, main = start_in_pty(interval="0.25")
    os.close(main)
    time.sleep(3)
    proc.send_signal(sig)
    proc.send_signal(signal.SIGCONT)
    try:
        status = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("the dashboard hung after its terminal went away") from None
    assert status in (0, -sig)
