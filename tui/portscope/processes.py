"""Process details and signalling, with the checks that make `terminate` safe.

A pid is only a number the kernel reuses. Every action here names its target as an
`Owner` (pid plus create_time) and re-checks that identity immediately before the
signal, so a process that exited and whose pid was handed to another is never hit.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import psutil

from portscope.model import Owner
from portscope.sanitise import os_text

T = TypeVar("T")


class ActionRefused(Exception):
    """An action that was not carried out; the message is a plain sentence for the user."""


@dataclass(frozen=True, slots=True)
class ProcessDetails:
    """What the detail screen shows about one process; None where not visible."""

    owner: Owner
    cmdline: tuple[str, ...] | None
    user: str | None
    started: float | None
    cwd: str | None
    exe: str | None
    parent_pid: int | None
    status: str | None


def _visible(read: Callable[[], T]) -> T | None:
    """One attribute of a process, or None when it is hidden from us."""
    try:
        return read()
    except (psutil.AccessDenied, psutil.ZombieProcess, OSError):
        return None


def describe_process(owner: Owner) -> ProcessDetails:
    """Blocking reads of /proc: call it from a worker thread, never the event loop.

    Text read here is `os_text`, as the collector's owners are: bytes that are not
    UTF-8 show as `\\xNN`."""
    empty = ProcessDetails(
        owner, owner.cmdline, owner.user, owner.create_time, None, None, None, None
    )
    try:
        proc = psutil.Process(owner.pid)
        if owner.create_time is not None and proc.create_time() != owner.create_time:
            return empty
        with proc.oneshot():
            cmdline = _visible(lambda: tuple(map(os_text, proc.cmdline())))
            return ProcessDetails(
                owner=owner,
                cmdline=cmdline if cmdline is not None else owner.cmdline,
                user=_visible(lambda: os_text(proc.username())) or owner.user,
                started=owner.create_time,
                cwd=_visible(lambda: os_text(proc.cwd())),
                exe=_visible(lambda: os_text(proc.exe())) or None,
                parent_pid=_visible(proc.ppid),
                status=_visible(proc.status),
            )
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return empty


def protected_pids() -> dict[int, str]:
    """Processes portscope refuses to signal, with the reason."""
    return {
        1: "PID 1 is the init process; signalling it can take the whole machine down",
        os.getpid(): "that is portscope itself; quit with q instead",
        os.getppid(): "that is the shell portscope runs in",
    }


def refuse_reason(owner: Owner) -> str | None:
    """Why portscope will not signal this process, or None when it may."""
    return protected_pids().get(owner.pid)


def signal_name(sig: int) -> str:
    return signal.Signals(sig).name


def send_signal(owner: Owner, sig: int) -> str:
    """Signal `owner` if it is still the same process; returns what was done."""
    label = f"{owner.name or 'process'} (pid {owner.pid})"
    reason = refuse_reason(owner)
    if reason:
        raise ActionRefused(f"Refused to signal {label}: {reason}.")
    try:
        proc = psutil.Process(owner.pid)
        if owner.create_time is None or proc.create_time() != owner.create_time:
            raise ActionRefused(
                f"Not sent: pid {owner.pid} now belongs to a different process than {label}."
            )
        proc.send_signal(sig)
    except psutil.NoSuchProcess:
        raise ActionRefused(f"Not sent: {label} has already exited.") from None
    except psutil.AccessDenied:
        raise ActionRefused(
            f"Not permitted to signal {label}: it belongs to another user "
            "(run portscope with sudo)."
        ) from None
    return f"Sent {signal_name(sig)} to {label}."
