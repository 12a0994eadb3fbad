"""The CLI as a user meets it: numbers it takes, ctrl+c, and no terminal for the dashboard."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_env, run_portscope


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (["check", "--interval", "-inf"], "'-inf' is not a number of seconds from 0 to 3600"),
        (["check", "--interval", "-1e3"], "'-1e3' is not a number of seconds from 0 to 3600"),
        (["check", "--interval", "１"], "'１' is not a number of seconds from 0 to 3600"),
        (["check", "--interval", "inf"], "'inf' is not a number of seconds from 0 to 3600"),
        (["check", "-w", "nan"], "'nan' is not a percentage above 0 and at most 100"),
        (["check", "-c", "٩٠"], "'٩٠' is not a percentage above 0 and at most 100"),
        (["check", "--close-wait-growth", "1_0"], "'1_0' is not a whole number from 1 to"),
        (["check", "--close-wait-critical", " 5"], "' 5' is not a whole number from 1 to"),
        (["lookup", "22", "--limit", "１０"], "'１０' is not a whole number from 0 to 65536"),
        (["lookup", "22", "--limit", "-1"], "'-1' is not a whole number from 0 to 65536"),
        (["--interval", "-nan"], "'-nan' is not a number of seconds from 0.25 to 60"),
        (["--interval", "٢"], "'٢' is not a number of seconds from 0.25 to 60"),
    ],
)
def test_numeric_options_take_ascii_finite_numbers_in_range(argv: list[str], refusal: str) -> None:
    """One parser for every number: what float() or int() would also take (other
    scripts' digits, inf, nan, `1_0`, spaces) is refused, and a negative number or
    infinity after an option is its value, not an unknown option."""
    done = run_portscope(*argv, *(["--offline"] if argv[0] == "lookup" else []), timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith("portscope: argument ") and refusal in line, line


def test_numbers_in_every_ascii_spelling_are_taken() -> None:
    done = run_portscope("lookup", "8000-8100", "--limit", "+2", "--offline", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "showing 2" in done.stdout
    done = run_portscope("check", "-w", "5e1", "-c", "90.", "--interval", ".0", "--json")
    assert done.returncode in (0, 1, 2, 3) and done.stderr == "", done.stderr


def wchan(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def test_ctrl_c_stops_a_waiting_check_with_one_line_and_sigint() -> None:
    """ctrl+c sends SIGINT to the terminal's foreground process group: the check stops
    at once, prints no status, and dies of SIGINT so a shell loop around it stops too."""
    check = subprocess.Popen(
        [sys.executable, "-m", "portscope", "check", "--interval", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60  # until it sleeps between its two polls
        while "nanosleep" not in wchan(check.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "nanosleep" in wchan(check.pid), "the check never got to its wait"
        os.killpg(check.pid, signal.SIGINT)
        out, err = check.communicate(timeout=30)
    finally:
        check.kill()
        check.wait()
    assert (check.returncode, out, err) == (-signal.SIGINT, "", "portscope: interrupted\n")


def run_dashboard(stdin: int, stdout: int, stderr: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "portscope"],
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        env=cli_env(TERM="xterm-256color"),
        timeout=60,
        check=False,
    )


NO_TERMINAL = (
    b"portscope: the dashboard needs a terminal on stdin, stdout and stderr (ssh -t for a "
    b"remote one); `portscope snapshot` prints one poll without one\n"
)


def test_the_dashboard_without_a_terminal_says_so_and_exits_2() -> None:
    """`portscope </dev/null >out`, or `ssh host portscope` without -t."""
    done = run_dashboard(subprocess.DEVNULL, subprocess.PIPE, subprocess.PIPE)
    assert (done.returncode, done.stdout, done.stderr) == (2, b"", NO_TERMINAL)


def test_the_dashboard_with_stdout_redirected_says_so_and_exits_2(tmp_path: Path) -> None:
    """Keys and a screen, but its output meant for a file: that is `portscope snapshot`."""
    main, child = pty.openpty()
    errors = tmp_path / "stderr"
    try:
        with errors.open("wb") as stderr:
            done = run_dashboard(child, subprocess.PIPE, stderr.fileno())
    finally:
        os.close(main)
        os.close(child)
    assert (done.returncode, done.stdout, errors.read_bytes()) == (2, b"", NO_TERMINAL)
