"""Histories for tests, written through the recorder's own store (`Store.write`), or
as an older schema's store wrote them (`old_history`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from portscope.history.records import Batch, ClosedConnection, ListenerEvent, Who
from portscope.history.schema import APPLICATION_ID, MIGRATIONS
from portscope.history.store import Store

CURL = Who(4121, "curl", "alice")
NGINX = Who(812, "nginx", "www-data")


def connection(
    closed: float,
    local_port: int,
    remote: str = "203.0.113.9",
    remote_port: int = 443,
    owner: Who | None = CURL,
    **more: object,
) -> ClosedConnection:
    """An outgoing TCP connection from 192.0.2.10 that ended at `closed`."""
    fields: dict[str, object] = {
        "proto": "tcp",
        "family": "ipv4",
        "local_address": "192.0.2.10",
        "local_port": local_port,
        "remote_address": remote,
        "remote_port": remote_port,
        "closed": closed,
        "ended": "kernel",
        "accepted": False,
        "state": "ESTABLISHED",
        "lifetime": 0.4,
        "bound": "at least",
        "sent": 517,
        "received": 4100,
        "owner": owner,
        "owner_from": "socket" if owner else None,
        **more,
    }
    return ClosedConnection(**fields)  # type: ignore[arg-type]


def write_history(
    path: Path,
    connections: Iterable[ClosedConnection] = (),
    events: Iterable[ListenerEvent] = (),
    started: float = 0.0,
    kernel_events: bool = True,
    interval: float = 2.0,
    batch: int = 10_000,
) -> None:
    """A history at `path` holding `connections` (in that order) and `events`, from one
    run that started at `started` (default: just before the first row)."""
    store = Store.open(path)
    try:
        rows = list(connections)
        first = started or (min((c.closed for c in rows), default=1.0) - 1)
        store.start_run(first, interval, kernel_events, None if kernel_events else "--polls-only")
        last = first
        for start in range(0, max(len(rows), 1), batch):
            chunk = tuple(rows[start : start + batch])
            last = max([last, *(c.closed for c in chunk)])
            store.write(Batch(closed=chunk), last, 0)
        store.write(Batch(listener_events=tuple(events)), last, 0)
        store.finish_run(last, 0)
    finally:
        store.close()


def old_history(path: Path, version: int, rows: Iterable[ClosedConnection], run: float) -> None:
    """A history as a portscope of schema `version` (1 or 2) wrote it: its tables, and
    `rows` inserted as its store did (owners with no place, no namespace), in one run
    that started at `run`."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    for steps in MIGRATIONS[:version]:
        for statement in steps:
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("PRAGMA journal_mode = WAL")
    path.chmod(0o600)
    conn.execute(
        "INSERT INTO runs (id, started, last_write, interval, kernel_events) "
        "VALUES (1, ?, ?, 2, 1)",
        (round(run * 1000), round(run * 1000)),
    )
    owners: dict[Who, int] = {}
    for c in rows:
        ids = []
        for who in (c.owner, c.peer):
            if who is not None and who not in owners:
                owners[who] = int(
                    conn.execute(
                        "INSERT INTO owners (pid, process, user) VALUES (?, ?, ?)",
                        (who.pid, who.process, who.user),
                    ).lastrowid
                    or 0
                )
            ids.append(None if who is None else owners[who])
        conn.execute(
            "INSERT INTO connections (closed, ended, proto, family, local_address, local_port, "
            "remote_address, remote_port, accepted, opened, state, lifetime, bound, sent, "
            "received, uid, owner, owner_from, peer, run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            (
                round(c.closed * 1000),
                c.ended,
                c.proto,
                c.family,
                c.local_address,
                c.local_port,
                c.remote_address,
                c.remote_port,
                int(c.accepted),
                None if c.opened is None else round(c.opened * 1000),
                c.state,
                None if c.lifetime is None else round(c.lifetime * 1000),
                c.bound,
                c.sent,
                c.received,
                c.uid,
                ids[0],
                c.owner_from,
                ids[1],
            ),
        )
    conn.execute(
        "UPDATE runs SET last_write = (SELECT coalesce(max(closed), last_write) FROM connections)"
    )
    conn.close()
