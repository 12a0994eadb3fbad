"""Who holds each socket: pid by inode (Linux), and process metadata by (pid, create_time).

Attribution is the expensive part of a poll: finding an inode's holder means reading
the fd table of every process. Both caches here exist so a steady server costs one
stat per process per poll, and only new sockets send us back to /proc/*/fd (where
`FdTables` readlinks only the fds that changed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace

import psutil

from portscope.collect.cgroups import read_placement
from portscope.collect.fdscan import FdTables, ProcessId, Recheck
from portscope.collect.runtime import Runtimes
from portscope.model import Container, Owner
from portscope.sanitise import os_text

MALFORMED = (ValueError, IndexError, KeyError, RuntimeError)
"""What psutil raises parsing a /proc file the kernel would not write (a procfs given
with --proc-root may hold anything, or lack /proc/stat's boot time): that process
cannot be read."""


def identify(pid: int) -> ProcessId | None:
    """(pid, create_time) of a live process, or None once it has gone (or when its
    /proc files cannot be read or parsed)."""
    try:
        return pid, psutil.Process(pid).create_time()
    except (psutil.Error, OSError, *MALFORMED):
        return None


class OwnerCache:
    """Owner metadata read once per process lifetime, keyed by (pid, create_time), with
    where the process runs: its cgroup's container (named by `runtimes` when it is
    given and knows it) or systemd unit."""

    def __init__(self, runtimes: Runtimes | None = None, proc_root: str = "/proc") -> None:
        self._owners: dict[ProcessId, Owner] = {}
        self.runtimes = runtimes
        self.proc_root = proc_root
        self._generation = runtimes.generation if runtimes else 0

    def __len__(self) -> int:
        return len(self._owners)

    def owner(self, ident: ProcessId) -> Owner:
        cached = self._owners.get(ident)
        if cached is None:
            cached = self._owners[ident] = self._named(read_owner(ident, self.proc_root))
        return cached

    def _named(self, owner: Owner) -> Owner:
        """`owner` with its container as the runtime's API names it (if it does)."""
        placement = owner.placement
        container = placement.container if placement else None
        if self.runtimes is None or placement is None or container is None:
            return owner
        named = self.runtimes.named(container)
        if named == container:
            return owner
        return replace(owner, placement=replace(placement, container=named))

    def rename(self) -> None:
        """Name again the containers of cached owners once the API's answer changed
        (it came back, or a container was renamed); unchanged owners stay the same
        objects, so their sockets are not rebuilt."""
        if self.runtimes is None or self.runtimes.generation == self._generation:
            return
        self._generation = self.runtimes.generation
        self._owners = {ident: self._named(owner) for ident, owner in self._owners.items()}

    def in_containers(self) -> frozenset[ProcessId]:
        """The cached processes that run in a container or serve one (conmon)."""
        return frozenset(
            ident
            for ident, owner in self._owners.items()
            if owner.placement and (owner.placement.container or owner.placement.helper)
        )

    def containers(self) -> dict[str, Container]:
        """The containers the cached processes run in, by id."""
        return {
            owner.container.id: owner.container
            for owner in self._owners.values()
            if owner.container is not None
        }

    def keep_only(self, live: Iterable[ProcessId]) -> None:
        """Forget processes not seen in the latest poll, so the cache stays bounded."""
        self._owners = {i: o for i in set(live) if (o := self._owners.get(i)) is not None}


def read_owner(ident: ProcessId, proc_root: str = "/proc") -> Owner:
    """Read name, user, cmdline and placement; a field that is hidden or vanishes
    stays None.

    psutil hands back bytes that are not UTF-8 as lone surrogates; they become `\\xNN`
    text here, where the bytes were read, so no output downstream meets them."""
    pid, create_time = ident
    name = user = None
    cmdline: tuple[str, ...] | None = None
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            name = _quietly(lambda: os_text(proc.name()))
            user = _quietly(lambda: os_text(proc.username()))
            cmdline = _quietly(lambda: tuple(map(os_text, proc.cmdline())))
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        pass
    return Owner(
        pid=pid,
        name=name,
        user=user,
        cmdline=cmdline,
        create_time=create_time,
        placement=read_placement(pid, proc_root),
    )


def _quietly(read):  # type: ignore[no-untyped-def]
    try:
        return read()
    except (psutil.AccessDenied, psutil.ZombieProcess, OSError, *MALFORMED):
        return None


class InodeOwners:
    """Maps socket inodes to the process holding them, rescanning /proc only when it must.

    A placed inode stays placed while its socket exists and its holder is the same
    process (pid and create_time, so a reused pid is never blamed). New inodes are
    searched first where the kernel puts new sockets: fds whose socket has gone (it
    hands out the lowest free fd). Misses are recounted against the kernel: the dump is
    not atomic, so a socket closed while it ran still looked alive although a new one
    took its fd; against the recount that fd is read again. Only what still misses is
    looked for in every fd directory (new fds), then with non-socket fds re-read. What
    that misses is unplaceable: another user's socket when not root, or a kernel one.
    Those are retried, trusting nothing, every `retry_after` seconds, so an
    unprivileged poll does not re-read every fd table every time.
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
        self.fd_tables = FdTables(proc_root)

    def resolve(
        self, inodes: set[int], recount: Callable[[], set[int]] | None = None
    ) -> dict[int, ProcessId]:
        """The holder of every inode that can be placed.

        `recount` returns the kernel's socket inodes now (see `_search`).
        """
        now = time.monotonic()
        current: dict[int, ProcessId | None] = {}

        def now_is(pid: int) -> ProcessId | None:
            if pid not in current:
                current[pid] = self.identify(pid)
            return current[pid]

        dead = {ident for ident in set(self._placed.values()) if now_is(ident[0]) != ident}
        placed = (
            {i: d for i, d in self._placed.items() if d not in dead} if dead else dict(self._placed)
        )
        for inode in placed.keys() - inodes:
            del placed[inode]
        unplaceable = {
            inode: since
            for inode, since in self._unplaceable.items()
            if inode in inodes and now - since < self.retry_after
        }
        wanted = inodes - placed.keys() - unplaceable.keys()
        if wanted:
            found = self._search(wanted, unplaceable.keys(), inodes, now_is, recount)
            placed.update(found)
            for inode in found.keys() & unplaceable.keys():
                del unplaceable[inode]
            unplaceable.update(dict.fromkeys(wanted - found.keys(), now))
        self._placed, self._unplaceable = placed, unplaceable
        return placed

    def _search(
        self,
        wanted: set[int],
        unplaceable: Collection[int],
        live: set[int],
        now_is: Callable[[int], ProcessId | None],
        recount: Callable[[], set[int]] | None,
    ) -> dict[int, ProcessId]:
        """Walks that trust remembered fd tables less and less until `wanted` is placed.

        After the first walk, the kernel is recounted (when `recount` is given): a miss
        is usually a socket closed since the dump, or one whose fd was reused while the
        dump ran, and both show only against a fresh count.
        """
        if not wanted.isdisjoint(self._unplaceable):
            walks = [Recheck.EVERYTHING]
        elif self.fd_tables:
            # REUSED twice: before and after the recount, which shows the sockets that
            # closed while the dump ran; only then are fd directories listed.
            walks = [Recheck.REUSED, Recheck.REUSED, Recheck.SOCKETS_GONE, Recheck.GONE_AND_FILES]
        else:
            walks = [Recheck.SOCKETS_GONE]  # a first scan reads every fd anyway
        found = self._walk(wanted, unplaceable, live, now_is, walks[0])
        missed = wanted - found.keys()
        if missed and len(walks) > 1 and recount is not None:
            live = recount()
            missed &= live
        for recheck in walks[1:]:
            if not missed:
                break
            found.update(self._walk(missed, (), live, now_is, recheck))
            missed -= found.keys()
        return found

    def _walk(
        self,
        wanted: set[int],
        unplaceable: Collection[int],
        live: set[int],
        now_is: Callable[[int], ProcessId | None],
        recheck: Recheck,
    ) -> dict[int, ProcessId]:
        """Walk /proc/*/fd until every wanted inode is found, in pid order (so the lowest
        pid wins a socket shared by processes walked the same way).

        Unplaceable inodes that turn up on the way are placed too: it costs a set
        intersection.
        """
        found: dict[int, ProcessId] = {}
        search = wanted.union(unplaceable)
        try:
            pids = sorted(int(p) for p in os.listdir(self.proc_root) if p.isdigit())
        except OSError:
            return found
        self.fd_tables.keep_only(pids)
        for pid in pids:
            if recheck is Recheck.REUSED and pid not in self.fd_tables:
                continue
            ident = now_is(pid)
            if ident is None:
                continue
            table = self.fd_tables.refresh(ident, recheck, live)
            for inode in search.intersection(table.sockets) - found.keys():
                found[inode] = ident
            if wanted.issubset(found):
                break
        return found
