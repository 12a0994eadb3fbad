"""The history database's tables, versioned with `PRAGMA user_version`.

`MIGRATIONS[n]` takes a database from version n to n+1; a new database runs them all.
A file whose `application_id` is not portscope's is not ours to touch, and one from a
newer schema than this code knows is refused rather than misread.

Connection rows are written when a connection ends, so their ids follow the order of
the ends: "newest first" is `ORDER BY id DESC`, each index on a port, address or owner
lists its rows oldest first without a time column, and a time window is an id range
(`query.first_id_at`). That keeps a row and its indexes small (BENCHMARKS.md, "The
recorder").
Times are integer milliseconds since the epoch.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x50534352
"""`PSCR`: what `PRAGMA application_id` holds in a portscope history database."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started INTEGER NOT NULL,
            last_write INTEGER NOT NULL,
            stopped INTEGER,
            interval REAL NOT NULL,
            kernel_events INTEGER NOT NULL,
            note TEXT,
            dropped INTEGER NOT NULL DEFAULT 0,
            pid INTEGER,
            version TEXT
        )""",
        """CREATE TABLE owners (
            id INTEGER PRIMARY KEY,
            pid INTEGER,
            process TEXT,
            user TEXT
        )""",
        "CREATE INDEX owners_process ON owners(process)",
        """CREATE TABLE connections (
            id INTEGER PRIMARY KEY,
            closed INTEGER NOT NULL,
            ended TEXT NOT NULL,
            proto TEXT NOT NULL,
            family TEXT NOT NULL,
            local_address TEXT NOT NULL,
            local_port INTEGER NOT NULL,
            remote_address TEXT NOT NULL,
            remote_port INTEGER NOT NULL,
            accepted INTEGER NOT NULL,
            opened INTEGER,
            state TEXT,
            lifetime INTEGER,
            bound TEXT,
            sent INTEGER,
            received INTEGER,
            uid INTEGER,
            owner INTEGER,
            owner_from TEXT,
            peer INTEGER,
            run INTEGER NOT NULL
        )""",
        "CREATE INDEX connections_local_port ON connections(local_port)",
        "CREATE INDEX connections_remote_port ON connections(remote_port)",
        "CREATE INDEX connections_remote ON connections(remote_address, remote_port)",
        "CREATE INDEX connections_owner ON connections(owner)",
        """CREATE TABLE open_connections (
            id INTEGER PRIMARY KEY,
            opened INTEGER NOT NULL,
            proto TEXT NOT NULL,
            family TEXT NOT NULL,
            local_address TEXT NOT NULL,
            local_port INTEGER NOT NULL,
            remote_address TEXT NOT NULL,
            remote_port INTEGER NOT NULL,
            accepted INTEGER NOT NULL,
            state TEXT,
            uid INTEGER,
            owner INTEGER,
            run INTEGER NOT NULL
        )""",
        """CREATE TABLE listener_events (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            change TEXT NOT NULL,
            proto TEXT NOT NULL,
            family TEXT NOT NULL,
            address TEXT NOT NULL,
            port INTEGER,
            exposure TEXT NOT NULL,
            uid INTEGER,
            owner INTEGER,
            while_stopped INTEGER NOT NULL DEFAULT 0,
            run INTEGER NOT NULL
        )""",
        "CREATE INDEX listener_events_at ON listener_events(at)",
        "CREATE INDEX listener_events_port ON listener_events(port)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
CONNECTION_INDEXES = tuple(
    statement for statement in MIGRATIONS[0] if statement.startswith("CREATE INDEX connections_")
)
"""Dropped and made again by the benchmark that fills ten million rows."""


class SchemaRefused(Exception):
    """The file is no portscope history, or is one from a newer portscope."""


def version_of(conn: sqlite3.Connection) -> int:
    """The schema version of a portscope history (0: an empty file, ours to fill);
    SchemaRefused if the file is anything else. Reading the header also tells a
    corrupt file (sqlite3.DatabaseError) from a database."""
    application = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application != APPLICATION_ID:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if application or version or tables:
            raise SchemaRefused("it is an SQLite database, but not a portscope history")
        return 0
    if version > SCHEMA_VERSION:
        raise SchemaRefused(
            f"it was written by a newer portscope (schema {version}; "
            f"this one knows up to {SCHEMA_VERSION})"
        )
    return version


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION in one transaction; the version it had."""
    was = version_of(conn)
    if was == SCHEMA_VERSION:
        return was
    if was == 0:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # before the first table
    conn.execute("BEGIN IMMEDIATE")
    try:
        for steps in MIGRATIONS[was:]:
            for statement in steps:
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return was
