"""Where the history lives, and whether a database file there may be trusted.

SQLite opens what a path names, following symlinks, and creates its `-wal` and `-shm`
files beside it; it has no O_NOFOLLOW. So before it is handed a path, the directory
must be one nobody else can write (then nothing can be planted or swapped in it), and
the file and its companions are looked at themselves (lstat): a symlink, anything but
a regular file, a file with other hard links, another user's file or one that others
may write is refused. A reader also accepts root's files (the service's database).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SYSTEM_DB = Path("/var/lib/portscope/history.db")
DB_NAME = "history.db"
COMPANIONS = ("-wal", "-shm", "-journal")
LOCK_SUFFIX = ".lock"
OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


class HistoryRefused(Exception):
    """This history database must not or cannot be used; str() says why, in one line."""


class HistoryMissing(HistoryRefused):
    """There is no history database at the path: nothing wrong, just no recorder there."""


def default_db(euid: int | None = None, environ: dict[str, str] | None = None) -> Path:
    """/var/lib/portscope/history.db for root, else $XDG_STATE_HOME/portscope/history.db
    (~/.local/state when unset or not absolute)."""
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return SYSTEM_DB
    base = (os.environ if environ is None else environ).get("XDG_STATE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "portscope" / DB_NAME


def trusted_owners(writer: bool) -> frozenset[int]:
    euid = os.geteuid()
    return frozenset({euid} if writer else {euid, 0})


def check_directory(directory: Path, writer: bool) -> None:
    """The directory, and each above it, belongs to us or root; none but a sticky one
    above may be written by others, and the directory itself not at all."""
    owners = trusted_owners(writer) | {0}
    current = directory.resolve()
    first = True
    while True:
        try:
            found = os.stat(current)
        except OSError as exc:
            raise HistoryRefused(f"cannot look at {current}: {exc.strerror or exc}") from None
        if not stat.S_ISDIR(found.st_mode):
            raise HistoryRefused(f"{current} is not a directory")
        if found.st_uid not in owners:
            raise HistoryRefused(f"the directory {current} belongs to another user")
        sticky = bool(found.st_mode & stat.S_ISVTX)
        if found.st_mode & OTHERS_WRITE and (first or not sticky):
            raise HistoryRefused(
                f"other users can write the directory {current} "
                "(a file there could be swapped or a link planted): choose one only you can write"
            )
        if current.parent == current:
            return
        current, first = current.parent, False


def check_file(path: Path, writer: bool) -> bool:
    """Whether something is at `path` (False: nothing); HistoryRefused if it is not a
    file this user may trust."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise HistoryRefused(f"cannot look at {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(found.st_mode):
        raise HistoryRefused(f"{path} is a symbolic link (not followed)")
    if not stat.S_ISREG(found.st_mode):
        raise HistoryRefused(f"{path} is not a regular file")
    if found.st_nlink > 1:
        raise HistoryRefused(f"{path} has other hard links")
    if found.st_uid not in trusted_owners(writer):
        raise HistoryRefused(f"{path} belongs to another user (uid {found.st_uid})")
    if found.st_mode & OTHERS_WRITE:
        raise HistoryRefused(f"other users can write {path}")
    return True


def check_database(path: Path, writer: bool) -> bool:
    """The directory, the database and its companions checked (see the module); whether
    the database exists. A reader finds none without looking at the directory."""
    if not writer and not check_file(path, writer):
        return False
    check_directory(path.parent, writer)
    for suffix in (*COMPANIONS, LOCK_SUFFIX):
        check_file(path.with_name(path.name + suffix), writer)
    return check_file(path, writer)


def database_uri(path: Path, mode: str) -> str:
    """An SQLite `file:` URI for `path` (quoted: a `?` or `#` in a name stays a name)."""
    from urllib.parse import quote

    return f"file:{quote(str(path.parent.resolve() / path.name))}?mode={mode}"
