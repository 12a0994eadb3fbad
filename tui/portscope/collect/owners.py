"""Who holds each socket: pid by inode (Linux), and process metadata by (pid, create_time).

Attribution is the expensive part of a poll: finding an inode's holder means reading
the fd table of every process. Both caches here exist so a steady server costs one
stat per process per poll, and only new sockets send us back to /proc/*/fd (where
`FdTables` readlinks only the fds that changed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable

import psutil

from portscope.collect.fdscan import FdTables, Recheck
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


class InodeOwners:
    """Maps socket inodes to the process holding them, rescanning /proc only when it must.

    A placed inode stays placed while its socket exists and its holder is the same
    process (pid and create_time, so a reused pid is never blamed). A scan first trusts
    remembered fd tables (see `fdscan`); an inode that walk misses is usually a socket
    closed since the dump, so only if it is still there next poll is it searched with
    less trust (non-socket fds re-read). Inodes that no visible process holds (another
    user's when not root; kernel sockets) are retried, trusting nothing, only every
    `retry_after` seconds, so an unprivileged poll does not re-read every fd table.
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
        self._suspects: set[int] = set()
        self.fd_tables = FdTables(proc_root)
        self.scans = 0

    def resolve(self, inodes: set[int]) -> dict[int, ProcessId]:
        """The holder of every inode that can be placed."""
        now = time.monotonic()
        current: dict[int, ProcessId | None] = {}

        def now_is(pid: int) -> ProcessId | None:
            if pid not in current:
                current[pid] = self.identify(pid)
            return current[pid]

        still_running = {ident for ident in set(self._placed.values()) if now_is(ident[0]) == ident}
        placed = {
            inode: ident
            for inode, ident in self._placed.items()
            if ident in still_running and inode in inodes
        }
        unplaceable = {
            inode: since
            for inode, since in self._unplaceable.items()
            if inode in inodes and now - since < self.retry_after
        }
        wanted = inodes - placed.keys() - unplaceable.keys()
        suspects: set[int] = set()
        if wanted:
            if not wanted.isdisjoint(self._unplaceable):
                distrust = Recheck.EVERYTHING
            elif not wanted.isdisjoint(self._suspects):
                distrust = Recheck.FILES
            else:
                distrust = Recheck.SOCKETS_GONE
            placed.update(self._scan(wanted, inodes, now_is, distrust))
            missed = wanted - placed.keys()
            if distrust is Recheck.SOCKETS_GONE:
                suspects = missed
            else:
                unplaceable.update(dict.fromkeys(missed, now))
        self._placed, self._unplaceable, self._suspects = placed, unplaceable, suspects
        return placed

    def _scan(
        self,
        wanted: set[int],
        live: set[int],
        now_is: Callable[[int], ProcessId | None],
        distrust: Recheck,
    ) -> dict[int, ProcessId]:
        """Walk /proc/*/fd until every wanted inode is found; the lowest pid wins a shared one.

        Walks trust remembered fd tables less and less, down to `distrust`: fds whose
        socket left the table, then non-socket fds, then every fd.
        """
        self.scans += 1
        found: dict[int, ProcessId] = {}
        try:
            pids = sorted(int(p) for p in os.listdir(self.proc_root) if p.isdigit())
        except OSError:
            return found
        self.fd_tables.keep_only(pids)
        walks = list(Recheck)
        for recheck in walks[: walks.index(distrust) + 1]:
            for pid in pids:
                ident = now_is(pid)
                if ident is None:
                    continue
                table = self.fd_tables.refresh(ident, recheck, live)
                for inode in wanted.intersection(table.sockets) - found.keys():
                    found[inode] = ident
                if len(found) == len(wanted):
                    return found
        return found
