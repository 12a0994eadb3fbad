"""Process details and signalling, with the checks that make `terminate` safe.

A pid is only a number the kernel reuses. Every action here names its target as an
`Owner` (pid plus create_time) and re-checks that identity immediately before the
signal, so a process that exited and whose pid was handed to another is never hit.
The signals offered (HUP, INT, TERM, KILL) are `OFFERED_SIGNALS`, each with what it asks
of the process and how many confirmations it takes; every one is refused alike for the
protected processes.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TypeVar

import psutil

from portscope.model import Owner
from portscope.sanitise import os_text, printable

T = TypeVar("T")

PID_REUSED = "its pid now belongs to another process"
UNREAPED = "its parent has not collected it yet (a zombie)"

COMMON_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh"})
NOT_SHELLS = frozenset({"tmux", "screen"})
"""Listed in /etc/shells on some systems so they may be login shells, but they are
terminal multiplexers: the shell portscope runs in is inside them."""


class ActionRefused(Exception):
    """An action that was not carried out; the message is a plain sentence for the user."""


@dataclass(frozen=True, slots=True)
class ProcessDetails:
    """What the detail screen shows about one process; None where not visible."""

    owner: Owner
    cmdline: tuple[str, ...] | None
    user: str | None
    started: float | None
    cwd: str | None = None
    exe: str | None = None
    parent_pid: int | None = None
    parent_name: str | None = None
    status: str | None = None
    exited: bool = False
    """The process is gone (`status` may say more): the rest is what it was."""

    def known_from(self, earlier: ProcessDetails) -> ProcessDetails:
        """These details, with what `earlier` knew of the same process where these see
        nothing: one that is exiting, or gone, shows less and less of itself."""
        missing = {
            f.name: getattr(earlier, f.name)
            for f in fields(self)
            if f.name != "status" and getattr(self, f.name) is None
        }
        return replace(self, **missing)


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

    def known_only(exited: bool = False, status: str | None = None) -> ProcessDetails:
        return ProcessDetails(
            owner, owner.cmdline, owner.user, owner.create_time, status=status, exited=exited
        )

    try:
        proc = psutil.Process(owner.pid)
        if owner.create_time is not None and proc.create_time() != owner.create_time:
            return known_only(exited=True, status=PID_REUSED)
        with proc.oneshot():
            if _visible(proc.status) == psutil.STATUS_ZOMBIE:
                return known_only(exited=True, status=UNREAPED)
            cmdline = _visible(lambda: tuple(map(os_text, proc.cmdline())))
            parent_pid = _visible(proc.ppid)
            return ProcessDetails(
                owner=owner,
                cmdline=cmdline if cmdline is not None else owner.cmdline,
                user=_visible(lambda: os_text(proc.username())) or owner.user,
                started=owner.create_time,
                cwd=_visible(lambda: os_text(proc.cwd())),
                exe=_visible(lambda: os_text(proc.exe())) or None,
                parent_pid=parent_pid,
                parent_name=_name_of(parent_pid) if parent_pid else None,
                status=_visible(proc.status),
            )
    except psutil.NoSuchProcess:
        return known_only(exited=True)
    except psutil.AccessDenied:
        return known_only()


def _name_of(pid: int) -> str | None:
    try:
        return os_text(psutil.Process(pid).name())
    except (psutil.Error, OSError):
        return None


def shell_names() -> frozenset[str]:
    """Program names of shells: those /etc/shells lists, and the common ones it may not."""
    try:
        with open("/etc/shells", encoding="utf-8", errors="replace") as handle:
            listed = {os.path.basename(line.strip()) for line in handle if line.startswith("/")}
    except OSError:
        listed = set()
    return frozenset(listed | COMMON_SHELLS) - NOT_SHELLS


def own_shell() -> int | None:
    """The nearest ancestor of portscope in its session that is a shell, if any.

    Under `make run`, `sudo`, `timeout` or a script, the parent is not the shell; and
    a parent that is not a shell must not be called one.
    """
    session = os.getsid(0)
    shells = shell_names()
    try:
        for ancestor in psutil.Process().parents():
            if os.getsid(ancestor.pid) != session:
                return None
            if ancestor.name() in shells:
                return ancestor.pid
    except (psutil.Error, OSError):
        return None
    return None


def protected_pids() -> dict[int, str]:
    """Processes portscope refuses to signal, with the reason."""
    reasons = {
        1: "PID 1 is the init process; signalling it can take the whole machine down",
        os.getpid(): "that is portscope itself; quit with q instead",
    }
    shell = own_shell()
    if shell is not None:
        reasons.setdefault(shell, "that is the shell portscope runs in")
    reasons.setdefault(os.getppid(), "that is portscope's parent process, which started it")
    return reasons


def refuse_reason(owner: Owner) -> str | None:
    """Why portscope will not signal this process, or None when it may."""
    return protected_pids().get(owner.pid)


def signal_name(sig: int) -> str:
    return signal.Signals(sig).name


@dataclass(frozen=True, slots=True)
class SignalOffer:
    """A signal the process details offer: the action it names, what it asks of the
    process, and how many confirmations come before it is sent."""

    sig: signal.Signals
    action: str
    effect: str
    confirmations: int = 1


OFFERED_SIGNALS = {
    offer.sig: offer
    for offer in (
        SignalOffer(
            signal.SIGHUP,
            "Reload",
            "By convention a daemon reloads its configuration; a program that does not "
            "handle it exits.",
        ),
        SignalOffer(
            signal.SIGINT,
            "Interrupt",
            "As ctrl+c in its terminal: most programs stop, some only cancel what they are doing.",
        ),
        SignalOffer(signal.SIGTERM, "Terminate", "It is asked to exit and may clean up first."),
        SignalOffer(signal.SIGKILL, "Kill", "It is stopped at once and cannot clean up.", 2),
    )
}
"""The signals portscope sends, in the order the details offer them."""


def owner_label(owner: Owner) -> str:
    """`nginx (pid 812)`, as text: the name printable and cut short."""
    return f"{printable(owner.name, 40) or 'process'} (pid {owner.pid})"


def signal_questions(owner: Owner, sig: int) -> tuple[tuple[str, str], ...]:
    """(title, question) of each confirmation to ask, in order, before sending `sig`
    (one of OFFERED_SIGNALS) to `owner`."""
    offer = OFFERED_SIGNALS[signal.Signals(sig)]
    label, name = owner_label(owner), offer.sig.name
    first = (f"{offer.action} {label}?", f"Send {name} to {label}? {offer.effect}")
    if offer.confirmations == 1:
        return (first,)
    verb = offer.action.lower()
    again = (f"Really {verb} {label}?", f"Second confirmation: really {verb} {label} with {name}?")
    return first, again


def send_signal(owner: Owner, sig: int) -> str:
    """Signal `owner` if it is still the same process; returns what was done. Only the
    OFFERED_SIGNALS are sent."""
    label = owner_label(owner)
    if sig not in OFFERED_SIGNALS:
        offered = ", ".join(s.name for s in OFFERED_SIGNALS)
        raise ActionRefused(f"Refused to send signal {sig} to {label}: portscope sends {offered}.")
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


def placement_facts(owner: Owner) -> list[tuple[str, str]]:
    """(label, value) lines saying where a process runs, as its cgroup and the
    runtime's API say: its container (name, runtime, short id, image) and Kubernetes
    pod, the container a runtime's helper serves, or its systemd unit. Printable."""
    placement = owner.placement
    if placement is None:
        return []
    facts: list[tuple[str, str]] = []
    container = placement.container
    if container is not None:
        runtime = container.runtime or "container"
        named = (
            f"{container.name} ({runtime} {container.id[:12]})"
            if container.name
            else (f"{runtime} {container.id[:12]} (no name: the runtime's API did not say)")
        )
        facts.append(("runs in", named))
        if container.image:
            facts.append(("image", container.image))
        if container.pod or container.pod_uid:
            pod = "/".join(filter(None, (container.pod_namespace, container.pod)))
            facts.append(("pod", pod or f"uid {container.pod_uid}"))
        if container.pod_container:
            facts.append(("in pod", container.pod_container))
    elif placement.helper is not None:
        helper = placement.helper
        serving = f" of container {helper.container_id[:12]}" if helper.container_id else ""
        facts.append(("helper", f"{helper.runtime}'s {helper.name}{serving}"))
    if placement.unit is not None:
        user = f" (systemd --user of uid {placement.user})" if placement.user is not None else ""
        facts.append(("unit", placement.unit + user))
    return [(label, printable(value, 200)) for label, value in facts]
