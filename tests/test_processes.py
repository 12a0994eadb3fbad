"""Signalling real processes: only the same process, never the protected ones."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import psutil
import pytest

from conftest import cli_env, needs_root
from portscope.collect.owners import identify, read_owner
from portscope.model import Owner
from portscope.processes import ActionRefused, describe_process, refuse_reason, send_signal


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def owner_of(pid: int) -> Owner:
    ident = identify(pid)
    assert ident is not None
    return read_owner(ident)


def test_terminate_reaches_the_same_process(sleeper: subprocess.Popen[bytes]) -> None:
    message = send_signal(owner_of(sleeper.pid), signal.SIGTERM)
    assert message == f"Sent SIGTERM to {owner_of_name(sleeper)} (pid {sleeper.pid})."
    assert sleeper.wait(timeout=5) == -signal.SIGTERM


def owner_of_name(proc: subprocess.Popen[bytes]) -> str:
    return psutil.Process(proc.pid).name()


def test_a_reused_pid_is_never_signalled(sleeper: subprocess.Popen[bytes]) -> None:
    real = owner_of(sleeper.pid)
    impostor = Owner(pid=real.pid, name=real.name, create_time=(real.create_time or 0) - 100)
    with pytest.raises(ActionRefused, match="different process"):
        send_signal(impostor, signal.SIGKILL)
    assert sleeper.poll() is None


def test_an_exited_process_is_reported_plainly(sleeper: subprocess.Popen[bytes]) -> None:
    owner = owner_of(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    with pytest.raises(ActionRefused, match=r"already exited|different process"):
        send_signal(owner, signal.SIGTERM)


@pytest.mark.parametrize("pid", [1, os.getpid(), os.getppid()])
def test_protected_processes_are_refused_with_a_reason(pid: int) -> None:
    owner = Owner(pid=pid, name="x", create_time=psutil.Process(pid).create_time())
    assert refuse_reason(owner)
    with pytest.raises(ActionRefused, match="Refused"):
        send_signal(owner, signal.SIGTERM)


def test_details_of_a_live_process(sleeper: subprocess.Popen[bytes]) -> None:
    details = describe_process(owner_of(sleeper.pid))
    assert details.cmdline is not None and "time.sleep(60)" in details.cmdline[-1]
    assert details.cwd == os.getcwd()
    assert details.parent_pid == os.getpid()
    assert details.user


@needs_root
def test_not_permitted_is_said_plainly(sleeper: subprocess.Popen[bytes]) -> None:
    """An unprivileged portscope asked to signal root's process gets a sentence, not a crash."""
    started = owner_of(sleeper.pid).create_time
    script = textwrap.dedent(
        f"""
        import os, signal
        from portscope.processes import ActionRefused, send_signal
        from portscope.model import Owner
        owner = Owner(pid={sleeper.pid}, name="sleeper", create_time={started!r})
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        try:
            send_signal(owner, signal.SIGTERM)
        except ActionRefused as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=cli_env(), timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "Not permitted to signal sleeper" in done.stdout
    assert sleeper.poll() is None


REASON_FOR_PARENT = """
import os, psutil
from portscope.model import Owner
from portscope.processes import refuse_reason
parent = psutil.Process(os.getppid())
print(parent.name(), "|", refuse_reason(Owner(parent.pid, parent.name())))
"""


def parent_reason(argv: list[str]) -> tuple[str, str]:
    """(name of the parent, why portscope would refuse to signal it), asked of a
    portscope in its own session started by `argv`."""
    done = subprocess.run(
        argv, capture_output=True, text=True, env=cli_env(), timeout=30, start_new_session=True
    )
    assert done.returncode == 0, done.stderr
    name, _, reason = done.stdout.strip().partition(" | ")
    return name, reason


def test_a_parent_that_is_not_a_shell_is_not_called_one() -> None:
    """Started by a Python process (as by a script or a test runner)."""
    name, reason = parent_reason([sys.executable, "-c", REASON_FOR_PARENT])
    assert name.startswith("python") or name == "pytest"
    assert reason == "that is portscope's parent process, which started it"


def test_the_shell_portscope_runs_in_is_named_so() -> None:
    """`; exit` keeps the shell from replacing itself with the last command."""
    script = f"{sys.executable} -c '{REASON_FOR_PARENT}'; exit $?"
    name, reason = parent_reason(["/bin/sh", "-c", script])
    assert name in ("sh", "dash", "bash")
    assert reason == "that is the shell portscope runs in"


def test_the_shell_above_a_wrapper_is_protected_too() -> None:
    """Under `make run`, `timeout` or `sudo` the shell is the grandparent."""
    probe = REASON_FOR_PARENT.replace(
        "parent = psutil.Process(os.getppid())", "parent = psutil.Process(os.getppid()).parent()"
    )
    script = f"timeout 20 {sys.executable} -c '{probe}'; exit $?"
    name, reason = parent_reason(["/bin/sh", "-c", script])
    assert name in ("sh", "dash", "bash")
    assert reason == "that is the shell portscope runs in"
