"""Each process's fd -> socket inode table, remembered so a rescan reads only what changed.

Finding a socket's holder means a readlink per open fd of every process; at 20,000
sockets that is most of a poll. Between two scans almost every fd still names the
same file, so a refresh lists the fd directory (one getdents) and readlinks only fds
that are new or whose socket has since left the kernel's table (its number may have
been reused). The bookkeeping is set arithmetic, so a process holding thousands of
unchanged sockets costs a listing and a few C-level set operations, not a Python loop.
Wider refreshes re-read non-socket fds, or everything, for the rarer reuse that misses.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from enum import Enum

ProcessId = tuple[int, float]
"""A process that cannot be confused with a later one reusing its pid."""
NOT_A_SOCKET = 0
SOCKET_LINK = re.compile(r"socket:\[(\d+)\]", re.ASCII)
"""What the kernel writes for a socket fd; under --proc-root a link may say anything."""
VACANCIES_KEPT = 32
"""Closed fds remembered per process, lowest first: where its next sockets will land."""


class Recheck(Enum):
    """How much of a remembered fd table to distrust."""

    REUSED = "no relisting: fds whose socket left the table, and closed fds: where new ones land"
    SOCKETS_GONE = "new fds, and fds whose socket left the kernel's table (number reused?)"
    GONE_AND_FILES = "no relisting: fds whose socket is gone by a recount, and non-socket fds"
    EVERYTHING = "every fd (a socket fd can be reused while another process keeps the socket)"


def fd_inode(name: str, directory: int) -> int | None:
    """The socket inode an fd names, None once it is closed, and NOT_A_SOCKET for other
    files and for fds we may not read (remembered, so they are not retried every scan)."""
    try:
        target = os.readlink(name, dir_fd=directory)
    except FileNotFoundError:
        return None
    except OSError:
        return NOT_A_SOCKET
    socket = SOCKET_LINK.fullmatch(target)
    return int(socket.group(1)) if socket else NOT_A_SOCKET


class FdTable:
    """One process's open fds: what each names, and the reverse for its sockets.

    `vacant` holds fds seen closed. The kernel hands out the lowest free fd, so a new
    socket lands in one of them (or in a number freed by a socket that left the table):
    reading those finds it without listing the directory.

    A process in another network namespace (a container) holds sockets our dump never
    shows; they are `foreign`, not gone, so they are not re-read every poll.
    """

    __slots__ = ("elsewhere", "fds", "files", "foreign", "ident", "sockets", "vacant")

    def __init__(self, ident: ProcessId, elsewhere: bool = False) -> None:
        self.ident = ident
        self.elsewhere = elsewhere
        self.fds: dict[str, int] = {}
        self.sockets: dict[int, str] = {}
        self.files: set[str] = set()
        self.vacant: set[str] = set()
        self.foreign: set[int] = set()

    def forget(self, names: Iterable[str]) -> None:
        for name in names:
            inode = self.fds.pop(name, NOT_A_SOCKET)
            if inode == NOT_A_SOCKET:
                self.files.discard(name)
            elif self.sockets.get(inode) == name:
                del self.sockets[inode]
                self.foreign.discard(inode)

    def vacate(self, names: Iterable[str]) -> None:
        """Remember `names` as closed, keeping only the lowest few: a process that shrank
        by thousands of fds should not cost thousands of reads every poll."""
        self.vacant.update(names)
        if len(self.vacant) > VACANCIES_KEPT * 2:
            self.vacant = set(sorted(self.vacant, key=int)[:VACANCIES_KEPT])

    def read(self, directory: int, names: Collection[str], live: Collection[int]) -> int:
        """readlink each named fd (relative to the open fd `directory`) and record what it
        is now; returns how many were read."""
        self.forget(names)
        closed = []
        for name in names:
            inode = fd_inode(name, directory)
            if inode is None:
                closed.append(name)
                continue
            self.vacant.discard(name)
            self.fds[name] = inode
            if inode == NOT_A_SOCKET:
                self.files.add(name)
            else:
                self.sockets[inode] = name
                if self.elsewhere and inode not in live:
                    self.foreign.add(inode)
        self.vacate(closed)
        return len(names)


class FdTables:
    """fd tables by pid, each tagged with its (pid, create_time) so a reused pid starts over."""

    def __init__(self, proc_root: str = "/proc") -> None:
        self.proc_root = proc_root
        self._tables: dict[int, FdTable] = {}
        self.readlinks = 0
        self._netns = self._netns_of("self")

    def _netns_of(self, pid: int | str) -> str | None:
        try:
            return os.readlink(f"{self.proc_root}/{pid}/ns/net")
        except OSError:
            return None

    def _elsewhere(self, pid: int) -> bool:
        """Whether `pid` lives in another network namespace than ours (unknown: no)."""
        theirs = self._netns_of(pid)
        return None not in (theirs, self._netns) and theirs != self._netns

    def __len__(self) -> int:
        return len(self._tables)

    def __contains__(self, pid: object) -> bool:
        return pid in self._tables

    def refresh(self, ident: ProcessId, recheck: Recheck, live: Collection[int]) -> FdTable:
        """This process's fds now: new fds are read, remembered ones as `recheck` says.

        `live` is the kernel's current set of socket inodes. REUSED and GONE_AND_FILES do
        not relist the directory: the kernel hands out the lowest free fd, so a new socket
        usually sits where a closed one was, and GONE_AND_FILES is a second look within
        one scan, moments after a listing.
        """
        pid = ident[0]
        table = self._tables.get(pid)
        if table is None or table.ident != ident:
            table = self._tables[pid] = FdTable(ident, self._elsewhere(pid))
        try:
            directory = os.open(f"{self.proc_root}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            del self._tables[pid]
            return FdTable(ident)
        try:
            names = self._stale(table, directory, recheck, live)
            if pid == os.getpid():
                # Our own listing shows the directory fd open for it; it closes next,
                # and the next socket we open will likely take its number.
                names.discard(str(directory))
                table.vacate([str(directory)])
            self.readlinks += table.read(directory, names, live)
        except OSError:
            del self._tables[pid]
            return FdTable(ident)
        finally:
            os.close(directory)
        return table

    @staticmethod
    def _stale(table: FdTable, directory: int, recheck: Recheck, live: Collection[int]) -> set[str]:
        """The fds to read again; relisting the directory first unless `recheck` says not.
        Foreign sockets are re-read only by EVERYTHING, the unplaceable's slow retry."""
        ours = table.sockets.keys() - table.foreign if table.foreign else table.sockets.keys()
        gone = {table.sockets[i] for i in ours - live}
        if recheck is Recheck.REUSED:
            return gone | table.vacant
        if recheck is Recheck.GONE_AND_FILES:
            return gone | table.files | table.vacant
        listed = set(os.listdir(directory))
        known = table.fds.keys()
        closed = known - listed
        table.forget(closed)
        table.vacate(closed)
        if recheck is Recheck.EVERYTHING:
            return listed
        return (listed - known) | (gone & listed)

    def keep_only(self, pids: Iterable[int]) -> None:
        """Forget processes that are no longer in /proc."""
        alive = set(pids)
        self._tables = {pid: table for pid, table in self._tables.items() if pid in alive}
