"""The history database's tables, versioned with `PRAGMA user_version`.

`MIGRATIONS[n]` takes a database from version n to n+1; a new database runs them all.
A file whose `application_id` is not portscope's is not ours to touch, and one from a
newer schema than this code knows is refused rather than misread.

Connection rows are written when a connection ends, so their ids follow the order of
the ends: "newest first" is `ORDER BY id DESC`, each index on a port, address or owner
lists its rows oldest first without a time column, and a time window is an id range
(`query.first_id_at`). That keeps a row and its indexes small (BENCHMARKS.md, "The
recorder").

Counting a busy port's connections over a day row by row took 442 ms at 140,000 rows
(BENCHMARKS.md), so schema 2 keeps `connection_hours`: connections counted per hour,
per service port (the listener's port of an accepted connection, the destination's of
an outgoing one), process and destination address, kept by a trigger in the same
transaction as the rows. A window's whole hours are counted from it and only its two
partial hours, and the few rows where the port is the client's end, from the rows; the
port indexes carry `accepted` so each side of a port is its own range, in id order.
Retention deletes rows, not hours: an hour is only counted whole when every row that
was deleted closed before it (`query`), and hours before the oldest row go.

Schema 3 names each row's network namespace (`namespaces`: an inode and the name it
had, one row per pair, so a row holds a small id; NULL in rows from before) and each
owner's container or unit (`owners.place`).
Times are integer milliseconds since the epoch.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x50534352
"""`PSCR`: what `PRAGMA application_id` holds in a portscope history database."""
HOUR_MS = 3_600_000
ROLLUP_KEY = f"""CASE WHEN {{row}}accepted THEN {{row}}local_port ELSE {{row}}remote_port END,
    {{row}}closed / {HOUR_MS}, {{row}}accepted, coalesce({{row}}owner, 0),
    CASE WHEN {{row}}accepted THEN '' ELSE {{row}}remote_address END"""
"""A row's hour of `connection_hours`: its service port, hour, side, owner (0: none
known) and destination address ('' for an accepted one: its far end is a client)."""
ROLLUP_TRIGGER = f"""CREATE TRIGGER connections_rollup AFTER INSERT ON connections BEGIN
    INSERT INTO connection_hours (port, hour, accepted, owner, address, count)
    VALUES ({ROLLUP_KEY.format(row="NEW.")}, 1)
    ON CONFLICT DO UPDATE SET count = count + 1;
END"""
ROLLUP_BACKFILL = f"""INSERT INTO connection_hours (port, hour, accepted, owner, address, count)
    SELECT {ROLLUP_KEY.format(row="")}, count(*) FROM connections WHERE true
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT DO UPDATE SET count = count + excluded.count"""
"""The hours of the rows already there (a database from schema 1, or the benchmark's,
filled without the trigger)."""

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
    (
        "DROP INDEX connections_local_port",
        "CREATE INDEX connections_local_port ON connections(local_port, accepted)",
        "DROP INDEX connections_remote_port",
        "CREATE INDEX connections_remote_port ON connections(remote_port, accepted)",
        """CREATE TABLE connection_hours (
            port INTEGER NOT NULL,
            hour INTEGER NOT NULL,
            accepted INTEGER NOT NULL,
            owner INTEGER NOT NULL,
            address TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (port, hour, accepted, owner, address)
        ) WITHOUT ROWID""",
        "CREATE INDEX connection_hours_hour ON connection_hours(hour)",
        ROLLUP_BACKFILL,
        ROLLUP_TRIGGER,
    ),
    (
        """CREATE TABLE namespaces (
            id INTEGER PRIMARY KEY,
            inode INTEGER NOT NULL,
            name TEXT NOT NULL,
            UNIQUE (inode, name)
        )""",
        "CREATE INDEX namespaces_name ON namespaces(name)",
        "ALTER TABLE connections ADD COLUMN netns INTEGER",
        "ALTER TABLE open_connections ADD COLUMN netns INTEGER",
        "ALTER TABLE listener_events ADD COLUMN netns INTEGER",
        "ALTER TABLE owners ADD COLUMN place TEXT",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
HOURLY_SCHEMA = 2
"""The first schema with `connection_hours`."""
NETNS_SCHEMA = 3
"""The first schema whose rows name their network namespace and their owner's place."""


def final_indexes() -> tuple[str, ...]:
    """The `connections` indexes as the newest schema has them (a later migration's
    definition of an index replaces an earlier one's)."""
    found: dict[str, str] = {}
    for steps in MIGRATIONS:
        for statement in steps:
            if statement.startswith("CREATE INDEX connections_"):
                found[statement.split()[2]] = statement
    return tuple(found.values())


CONNECTION_INDEXES = final_indexes()
"""Dropped and made again, with the rollup, by the benchmark that fills ten million rows."""


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
