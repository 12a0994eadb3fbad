"""`--log FILE`: portscope's log records, appended to a file opened without trusting it.

Without `--log` records go nowhere (see `failures.LOG`), so nothing is ever written
over the dashboard; the commands say what went wrong on stderr themselves.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path
from typing import TextIO

from portscope.failures import LOG

FORMAT = "%(asctime)s portscope[%(process)d] %(levelname)s %(message)s"
OPEN_FLAGS = (
    os.O_WRONLY
    | os.O_APPEND
    | os.O_CREAT
    | os.O_NOFOLLOW
    | os.O_NOCTTY
    | os.O_CLOEXEC
    | os.O_NONBLOCK
)
"""Append, create, never follow a final symlink; non-blocking so that a FIFO with no
reader fails at once (ENXIO) instead of hanging the start (blocking again once open)."""
REFUSED_OPEN = {
    errno.ELOOP: "it is a symbolic link (not followed)",
    errno.ENXIO: "it is not a regular file",
    errno.EISDIR: "it is a directory",
}


class LogRefused(Exception):
    """The log file cannot or must not be written; the message says why."""


def open_log(path: Path) -> TextIO:
    """`path` opened to append, created 0600 if missing. Refused: a symlink at `path`
    (never followed), anything but a regular file, a file with other hard links (one
    planted to alias something else), and a file that belongs to another user."""
    try:
        fd = os.open(path, OPEN_FLAGS, 0o600)
    except OSError as exc:
        raise LogRefused(REFUSED_OPEN.get(exc.errno or 0, exc.strerror or str(exc))) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise LogRefused("it is not a regular file")
        if status.st_nlink > 1:
            raise LogRefused("it has other hard links")
        if status.st_uid != os.geteuid():
            raise LogRefused("it belongs to another user")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")
    except BaseException:
        os.close(fd)
        raise


def log_to(path: Path) -> logging.Handler:
    """Append portscope's records, INFO and up, to `path` (see `open_log`); the handler
    is returned so it can be taken off again."""
    handler = logging.StreamHandler(open_log(path))
    handler.setFormatter(logging.Formatter(FORMAT))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    return handler
