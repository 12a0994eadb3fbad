"""Opening the history database: checked paths (`paths`), a `file:` URI, the schema.

Every failure to open is one `HistoryRefused` line naming the file and why: a corrupt
or foreign file, a newer schema, a directory that cannot be written.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from portscope.history.paths import HistoryMissing, HistoryRefused, check_database, database_uri
from portscope.history.schema import SchemaRefused, migrate, version_of

BUSY_TIMEOUT_MS = 5000
WAL_LIMIT = 16 << 20
"""Bytes the write-ahead log is cut back to after a checkpoint (`journal_size_limit`)."""
NEW_FILE_MODE = 0o600
NEW_DIRECTORY_MODE = 0o700
OPENING_ERRORS = (sqlite3.Error, OSError, SchemaRefused, HistoryRefused)


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def seconds(milliseconds: int | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000


def reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def open_for_writing(path: Path) -> sqlite3.Connection:
    """The database at `path`, created (0600, in a 0700 directory made if missing) when
    absent, migrated to this schema, in WAL mode. HistoryRefused when it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=NEW_DIRECTORY_MODE)
    except OSError as exc:
        raise HistoryRefused(f"cannot create the directory {path.parent}: {reason(exc)}") from None
    if not check_database(path, writer=True):
        create_exclusively(path)
    conn = connect(path, "rw")
    try:
        migrate(conn)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise HistoryRefused(f"{path}: SQLite would not use a write-ahead log here ({mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
    except OPENING_ERRORS as exc:
        conn.close()
        raise refusal(path, exc) from None
    return conn


def create_exclusively(path: Path) -> None:
    """An empty 0600 file, made by us: O_EXCL and O_NOFOLLOW, so nothing planted at the
    name meanwhile is opened instead. SQLite then takes it as a new database."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, NEW_FILE_MODE)
    except OSError as exc:
        raise HistoryRefused(f"cannot create {path}: {reason(exc)}") from None
    os.close(fd)


def open_for_reading(path: Path) -> sqlite3.Connection:
    """The database at `path`, read-only; HistoryMissing when there is none,
    HistoryRefused when it is untrusted, corrupt, foreign or of a newer schema."""
    if not check_database(path, writer=False):
        raise HistoryMissing(f"no history database at {path} (`portscope record` keeps one)")
    # On a read-only filesystem nothing can change the file, and SQLite could not make
    # the WAL index it would otherwise want beside it.
    frozen = bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    conn = connect(path, "ro&immutable=1" if frozen else "ro")
    try:
        if version_of(conn) == 0:
            raise SchemaRefused("it holds no history yet")
    except OPENING_ERRORS as exc:
        conn.close()
        raise refusal(path, exc) from None
    return conn


def connect(path: Path, mode: str) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            database_uri(path, mode),
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise refusal(path, exc) from None
    return conn


def refusal(path: Path, exc: Exception) -> HistoryRefused:
    """One line for what stopped `path` from opening as a history."""
    if isinstance(exc, HistoryRefused):
        return exc
    if isinstance(exc, SchemaRefused):
        return HistoryRefused(f"{path}: {exc}")
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
        return HistoryRefused(f"{path}: not an SQLite database, or a damaged one")
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES):
        return HistoryRefused(f"cannot write {path}: {reason(exc)}")
    return HistoryRefused(f"cannot use {path}: {reason(exc)}")


def read_failure(path: Path, exc: sqlite3.Error) -> str:
    """One line for a query that failed on an open history."""
    if isinstance(exc, sqlite3.DatabaseError) and "malformed" in str(exc):
        return f"{path} is damaged ({exc}): what can still be read is kept, nothing is repaired"
    return f"cannot read {path}: {exc}"
