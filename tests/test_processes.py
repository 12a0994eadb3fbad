"""Signalling real processes: only the same process, never the protected ones."""

from __future__ import annotations

import os
import select
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
from portscope.processes import (
    OFFERED_SIGNALS,
    ActionRefused,
    describe_process,
    refuse_reason,
    send_signal,
    signal_questions,
)


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


@pytest.mark.parametrize("sig", list(OFFERED_SIGNALS), ids=lambda sig: sig.name)
@pytest.mark.parametrize("pid", [1, os.getpid(), os.getppid()])
def test_protected_processes_are_refused_with_a_reason(pid: int, sig: signal.Signals) -> None:
    owner = Owner(pid=pid, name="x", create_time=psutil.Process(pid).create_time())
    assert refuse_reason(owner)
    with pytest.raises(ActionRefused, match="Refused"):
        send_signal(owner, sig)


RELOADER = """
import signal, sys, time
signal.signal(signal.SIGHUP, lambda signum, frame: print("reloaded", flush=True))
print("ready", flush=True)
while True:
    time.sleep(1)
"""
"""A daemon's habit: SIGHUP reloads (here, says so) and it carries on; SIGINT is left to
Python, which ends the process by that signal."""


@pytest.fixture
def reloader() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-c", RELOADER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    yield proc
    proc.kill()
    proc.wait()


def test_hup_reaches_a_process_that_reloads_and_it_keeps_running(
    reloader: subprocess.Popen[str],
) -> None:
    owner = owner_of(reloader.pid)
    assert reloader.stdout is not None
    for _ in range(2):
        message = send_signal(owner, signal.SIGHUP)
        assert message == f"Sent SIGHUP to {owner.name} (pid {reloader.pid})."
        assert reloader.stdout.readline() == "reloaded\n"
    assert reloader.poll() is None


def test_int_interrupts_a_process(reloader: subprocess.Popen[str]) -> None:
    assert send_signal(owner_of(reloader.pid), signal.SIGINT).startswith("Sent SIGINT to ")
    assert reloader.wait(timeout=10) == -signal.SIGINT


def test_hup_to_a_reused_pid_is_never_sent(reloader: subprocess.Popen[str]) -> None:
    real = owner_of(reloader.pid)
    impostor = Owner(pid=real.pid, name=real.name, create_time=(real.create_time or 0) - 100)
    with pytest.raises(ActionRefused, match="different process"):
        send_signal(impostor, signal.SIGHUP)
    assert reloader.stdout is not None
    ready, _, _ = select.select([reloader.stdout], [], [], 0.3)
    assert ready == [] and reloader.poll() is None


def test_a_signal_that_is_not_offered_is_refused(sleeper: subprocess.Popen[bytes]) -> None:
    with pytest.raises(ActionRefused, match="portscope sends SIGHUP, SIGINT, SIGTERM, SIGKILL"):
        send_signal(owner_of(sleeper.pid), signal.SIGSTOP)
    assert psutil.Process(sleeper.pid).status() != psutil.STATUS_STOPPED


def test_each_offered_signal_asks_what_it_does_and_kill_asks_twice() -> None:
    owner = Owner(pid=4242, name="nginx\x1b[2J")
    label = "nginx\\x1b[2J (pid 4242)"
    assert signal_questions(owner, signal.SIGHUP) == (
        (
            f"Reload {label}?",
            f"Send SIGHUP to {label}? By convention a daemon reloads its configuration; "
            "a program that does not handle it exits.",
        ),
    )
    assert [title for title, _ in signal_questions(owner, signal.SIGINT)] == [f"Interrupt {label}?"]
    assert signal_questions(owner, signal.SIGTERM) == (
        (
            f"Terminate {label}?",
            f"Send SIGTERM to {label}? It is asked to exit and may clean up first.",
        ),
    )
    assert signal_questions(owner, signal.SIGKILL) == (
        (f"Kill {label}?", f"Send SIGKILL to {label}? It is stopped at once and cannot clean up."),
        (f"Really kill {label}?", f"Second confirmation: really kill {label} with SIGKILL?"),
    )


def test_a_refusal_names_the_process_as_text() -> None:
    owner = Owner(pid=1, name="init\x1b]0;pwned\x07", create_time=psutil.Process(1).create_time())
    with pytest.raises(ActionRefused) as caught:
        send_signal(owner, signal.SIGHUP)
    assert "\x1b" not in str(caught.value) and "\x07" not in str(caught.value)
    assert "init\\x1b]0;pwned\\x07 (pid 1)" in str(caught.value)


def test_details_of_a_live_process(sleeper: subprocess.Popen[bytes]) -> None:
    details = describe_process(owner_of(sleeper.pid))
    assert details.cmdline is not None and "time.sleep(60)" in details.cmdline[-1]
    assert details.cwd == os.getcwd()
    assert details.parent_pid == os.getpid()
    assert details.user


@needs_root
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_not_permitted_is_said_plainly(sleeper: subprocess.Popen[bytes], sig: str) -> None:
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
            send_signal(owner, signal.{sig})
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
