"""Who holds each socket: pid by inode (Linux), and process metadata by (pid, create_time).

Attribution is the expensive part of a poll: finding an inode's holder means reading
the fd table of every process. Both caches here exist so a steady server costs one
stat per process per poll, and only new sockets send us back to /proc/*/fd.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

import psutil

from portscope.model import Owner

ProcessId = tuple[int, float]
"""A process that cannot be confused with a later one reusing its pid."""


def identify(pid: int) -> ProcessId | None:
    """(pid, create_time) of a live process, or None once it has gone."""
    try:
        return pid, psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied, ValueError):
        return None


class OwnerCache:
    """Owner metadata read once per process lifetime, keyed by (pid, create_time)."""

    def __init__(self) -> None:
        self._owners: dict[ProcessId, Owner] = {}

    def __len__(self) -> int:
        return len(self._owners)

    def owner(self, ident: ProcessId) -> Owner:
        cached = self._owners.get(ident)
        if cached is None:
            cached = self._owners[ident] = read_owner(ident)
        return cached

    def keep_only(self, live: Iterable[ProcessId]) -> None:
        """Forget processes not seen in the latest poll, so the cache stays bounded."""
        self._owners = {i: o for i in set(live) if (o := self._owners.get(i)) is not None}


def read_owner(ident: ProcessId) -> Owner:
    """Read name, user and cmdline; a field that is hidden or vanishes stays None."""
    pid, create_time = ident
    name = user = None
    cmdline: tuple[str, ...] | None = None
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            name = _quietly(proc.name)
            user = _quietly(proc.username)
            args = _quietly(proc.cmdline)
            cmdline = tuple(args) if args is not None else None
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        pass
    return Owner(pid=pid, name=name, user=user, cmdline=cmdline, create_time=create_time)


def _quietly(read):  # type: ignore[no-untyped-def]
    try:
        return read()
    except (psutil.AccessDenied, psutil.ZombieProcess, OSError):
        return None


def socket_inodes_of(pid: str, proc_root: str) -> Iterable[int]:
    """Socket inodes in one process's fd table; nothing if it is hidden or gone."""
    try:
        entries = list(os.scandir(f"{proc_root}/{pid}/fd"))
    except OSError:
        return
    for entry in entries:
        try:
            target = os.readlink(entry.path)
        except OSError:
            continue
        if target.startswith("socket:["):
            yield int(target[8:-1])


class InodeOwners:
    """Maps socket inodes to the process holding them, rescanning /proc only when it must.

    A placed inode stays placed while its socket exists and its holder is the same
    process (pid and create_time, so a reused pid is never blamed). Inodes that no
    visible process holds (another user's when not root; kernel sockets) are retried
    only every `retry_after` seconds, so an unprivileged poll does not re-read every
    fd table every time.
    """

    def __init__(
        self,
        proc_root: str = "/proc",
        retry_after: float = 30.0,
        identify: Callable[[int], ProcessId | None] = identify,
    ) -> None:
        self.proc_root = proc_root
        self.retry_after = retry_after
        self.identify = identify
        self._placed: dict[int, ProcessId] = {}
        self._unplaceable: dict[int, float] = {}
        self.scans = 0

    def resolve(self, inodes: set[int]) -> dict[int, ProcessId]:
        """The holder of every inode that can be placed."""
        now = time.monotonic()
        current: dict[int, ProcessId | None] = {}

        def now_is(pid: int) -> ProcessId | None:
            if pid not in current:
                current[pid] = self.identify(pid)
            return current[pid]

        placed = {
            inode: ident
            for inode, ident in self._placed.items()
            if inode in inodes and now_is(ident[0]) == ident
        }
        unplaceable = {
            inode: since
            for inode, since in self._unplaceable.items()
            if inode in inodes and now - since < self.retry_after
        }
        wanted = inodes - placed.keys() - unplaceable.keys()
        if wanted:
            for inode, pid in self._scan(wanted).items():
                ident = now_is(pid)
                if ident is not None:
                    placed[inode] = ident
            unplaceable.update(dict.fromkeys(wanted - placed.keys(), now))
        self._placed, self._unplaceable = placed, unplaceable
        return placed

    def _scan(self, wanted: set[int]) -> dict[int, int]:
        """Walk /proc/*/fd until every wanted inode is found; the lowest pid wins a shared one."""
        self.scans += 1
        found: dict[int, int] = {}
        try:
            pids = sorted((p for p in os.listdir(self.proc_root) if p.isdigit()), key=int)
        except OSError:
            return found
        for pid in pids:
            for inode in socket_inodes_of(pid, self.proc_root):
                if inode in wanted and inode not in found:
                    found[inode] = int(pid)
            if len(found) == len(wanted):
                break
        return found
