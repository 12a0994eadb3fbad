"""Failures that nothing waits for reach the `--log` file and the screen; `--log` itself
opens its file without trusting what is there."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conftest import needs_root, run_portscope
from portscope import __version__
from portscope.failures import survived
from portscope.poller import PollEvent
from ui_support import demo_app, first_frame, next_poll, until

COMMANDS = ([], ["lookup", "22", "--offline"], ["snapshot"], ["check"])
"""The dashboard and every command: `--log` is checked before any of them starts."""


async def test_a_failing_subscriber_is_a_notice_on_screen_and_a_record_in_the_log(
    tmp_path: Path, log_file: Path
) -> None:
    app = demo_app(tmp_path / "config.toml")
    seen: list[PollEvent] = []

    def broken_after_the_first(event: PollEvent) -> None:
        seen.append(event)
        if len(seen) > 1:
            raise ValueError("[b]not markup[/b]")

    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        app.poller.subscribe(broken_after_the_first)
        await next_poll(pilot)
        await until(pilot, lambda: app._notifications)
        (notice,) = app._notifications
        where, error = notice.message.split(" failed: ")
        assert where.startswith("poll subscriber ") and where.endswith(".broken_after_the_first")
        assert error == "ValueError: [b]not markup[/b]"
        assert notice.severity == "error" and not notice.markup
        assert app.shown is app.poller.latest, "the poll itself went on"
    log = log_file.read_text()
    assert "ValueError: [b]not markup[/b]" in log and "Traceback (most recent call last)" in log


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_log_appends_to_a_file_it_creates_0600(tmp_path: Path, before: bool) -> None:
    """`--log` goes before the command or after it; a second run appends."""
    log = tmp_path / "portscope.log"
    for _ in range(2):
        args = ["lookup", "22", "--offline"]
        args = ["--log", str(log), *args] if before else [*args, "--log", str(log)]
        done = run_portscope(*args)
        assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    lines = log.read_text().splitlines()
    started = f"INFO portscope {__version__} started: lookup"
    assert len(lines) == 2 and all(line.endswith(started) for line in lines)


def planted_symlink(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, tmp_path / "link.log")
    return tmp_path / "link.log"


def fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "fifo.log")
    return tmp_path / "fifo.log"


def hard_link(tmp_path: Path) -> Path:
    (tmp_path / "victim").write_text("precious")
    os.link(tmp_path / "victim", tmp_path / "alias.log")
    return tmp_path / "alias.log"


BAD_PATHS = {
    "missing directory": (lambda tmp: tmp / "nowhere" / "x.log", "No such file or directory"),
    "symlink": (planted_symlink, "it is a symbolic link (not followed)"),
    "directory": (lambda tmp: tmp, "it is a directory"),
    "fifo": (fifo, "it is not a regular file"),
    "hard link": (hard_link, "it has other hard links"),
}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0] if c else "dashboard")
@pytest.mark.parametrize("bad", BAD_PATHS, ids=str)
def test_a_bad_log_path_is_one_line_and_exit_2(
    tmp_path: Path, bad: str, command: list[str]
) -> None:
    make, why = BAD_PATHS[bad]
    path = make(tmp_path)
    done = run_portscope("--log", str(path), *command, timeout=20)
    assert done.returncode == 2
    assert done.stderr == f"portscope: cannot log to {str(path)!r}: {why}\n"
    assert done.stdout == ""
    victim = tmp_path / "victim"
    assert not victim.exists() or victim.read_text() == "precious"


@needs_root
def test_another_users_log_file_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs.log"
    theirs.write_text("")
    os.chown(theirs, 65534, 65534)
    done = run_portscope("--log", str(theirs), "check")
    assert (done.returncode, done.stderr) == (
        2,
        f"portscope: cannot log to {str(theirs)!r}: it belongs to another user\n",
    )
    assert theirs.read_text() == ""


def test_without_log_records_go_nowhere(capfd: pytest.CaptureFixture[str]) -> None:
    """Not to stderr, where the dashboard is drawn: the commands say what went wrong
    themselves."""
    survived("a quiet test", RuntimeError("not on stderr"))
    assert capfd.readouterr() == ("", "")
