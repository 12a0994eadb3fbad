"""One recorder per database: an exclusive flock on `history.db.lock` beside it.

SQLite's own locks only make writers take turns; two recorders would both write every
connection. The lock file holds the pid of the recorder that has it, so a second one
can say whom it found. The kernel drops the lock when its holder exits, kill -9 too.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from portscope.history.paths import LOCK_SUFFIX, HistoryRefused, check_file

OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY
PID_BYTES = 32


class WriterLock:
    """Held from `take` until `release` (or the process's end)."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def take(cls, database: Path) -> WriterLock:
        """The lock of `database`; HistoryRefused when another process holds it."""
        path = database.with_name(database.name + LOCK_SUFFIX)
        check_file(path, writer=True)
        try:
            fd = os.open(path, OPEN_FLAGS, 0o600)
        except OSError as exc:
            raise HistoryRefused(f"cannot write {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, PID_BYTES, 0).decode("ascii", "replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise HistoryRefused(f"another recorder{who} is writing {database}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        return cls(fd, path)

    def release(self) -> None:
        os.ftruncate(self._fd, 0)
        os.close(self._fd)
