"""Keeping the history bounded: by age, then by size, oldest rows first.

Connection ids follow the order of the ends, so "oldest" is "lowest id", and a prune
deletes an id range in chunks (one statement, so one short transaction, each: the
recorder's next batch never waits long), and the hourly counts left with no row go.
Freed pages go back to the filesystem by incremental vacuum (the database is created
with auto_vacuum = INCREMENTAL), so the file itself shrinks.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from portscope.history.database import ms
from portscope.history.query import ID_RANGE, SLACK_MS, first_id_at
from portscope.history.schema import HOUR_MS

DEFAULT_MAX_AGE = 30 * 86_400.0
DEFAULT_MAX_SIZE = 512 << 20
CHUNK = 50_000
"""Rows deleted per transaction."""
SIZE_TARGET = 0.9
"""A prune by size goes down to this share of the limit, so it does not run every batch."""
MAX_ROUNDS = 64


@dataclass(frozen=True, slots=True)
class Limits:
    max_age: float = DEFAULT_MAX_AGE
    """Seconds a row is kept."""
    max_size: int = DEFAULT_MAX_SIZE
    """Bytes the database file may hold (its write-ahead log comes on top, at most
    `database.WAL_LIMIT` once checkpointed)."""


def file_bytes(conn: sqlite3.Connection) -> int:
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return int(pages * conn.execute("PRAGMA page_size").fetchone()[0])


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes in pages that hold data (the file less its free pages)."""
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return file_bytes(conn) - int(free * conn.execute("PRAGMA page_size").fetchone()[0])


def delete_before(conn: sqlite3.Connection, first_kept: int) -> int:
    """Delete connections with ids below `first_kept`, a chunk per transaction."""
    deleted = 0
    while True:
        lowest = conn.execute("SELECT min(id) FROM connections").fetchone()[0]
        if lowest is None or lowest >= first_kept:
            return deleted
        end = min(first_kept, lowest + CHUNK)
        deleted += conn.execute("DELETE FROM connections WHERE id < ?", (end,)).rowcount


def prune(conn: sqlite3.Connection, limits: Limits, now: float) -> int:
    """Apply both limits; how many connection rows went. Listener events and runs go
    by age only (they are few)."""
    cutoff = ms(now - limits.max_age)
    deleted = delete_before(conn, first_id_at(conn, cutoff + SLACK_MS))
    conn.execute("DELETE FROM listener_events WHERE at < ?", (cutoff,))
    conn.execute("DELETE FROM runs WHERE coalesce(stopped, last_write) < ?", (cutoff,))
    for _round in range(MAX_ROUNDS):
        forget_hours(conn)
        # stepped to its end only by executescript: execute() frees a single page
        conn.executescript("PRAGMA incremental_vacuum;")
        if file_bytes(conn) <= limits.max_size:
            break
        deleted += shrink_once(conn, limits.max_size)
    return deleted


def forget_hours(conn: sqlite3.Connection) -> None:
    """Delete the `connection_hours` that hold no remaining row: those wholly before the
    oldest row's close, less the slack (a row deleted before it may have closed up to
    that much later). The hours rows remain in are left; queries count them from the
    rows (`query`)."""
    oldest = conn.execute("SELECT closed FROM connections ORDER BY id LIMIT 1").fetchone()
    if oldest is None:
        conn.execute("DELETE FROM connection_hours")
        return
    conn.execute(
        "DELETE FROM connection_hours WHERE hour < ?", ((oldest[0] - SLACK_MS) // HOUR_MS,)
    )


def shrink_once(conn: sqlite3.Connection, max_size: int) -> int:
    """Delete the oldest share of the connections that should bring the used pages down
    to SIZE_TARGET of `max_size` (at least one chunk's worth of the table's share)."""
    lowest, highest = conn.execute(ID_RANGE).fetchone()
    if lowest is None:
        # nothing left but the small tables: shed the oldest half of the events
        conn.execute("DELETE FROM listener_events WHERE id < (SELECT avg(id) FROM listener_events)")
        return 0
    used = used_bytes(conn)
    share = max(0.0, 1 - SIZE_TARGET * max_size / used) if used else 1.0
    count = max(1, min(CHUNK, round((highest - lowest + 1) * share)))
    return delete_before(conn, lowest + count)
