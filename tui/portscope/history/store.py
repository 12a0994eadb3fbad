"""The recorder's side of the database: runs, batches written in one transaction each,
and what a restarted recorder picks up (connections still open, listeners present).

One thread uses a Store (the writer's); `Batch`es come from the recorder's ledger.
A batch that fails (a full disk) is rolled back whole, and the owner ids it had
given out are forgotten, so the next batch writes its owners again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from portscope import __version__
from portscope.history.database import ms, open_for_writing
from portscope.history.query import LISTENER_COLUMNS, LISTENER_JOINS, listener_event, who
from portscope.history.records import (
    Batch,
    ClosedConnection,
    ListenerEvent,
    OpenConnection,
    Who,
)

INSERT_CONNECTION = """INSERT INTO connections (closed, ended, proto, family, local_address,
    local_port, remote_address, remote_port, accepted, opened, state, lifetime, bound, sent,
    received, uid, owner, owner_from, peer, run, netns)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
INSERT_OPEN = """INSERT OR REPLACE INTO open_connections (id, opened, proto, family,
    local_address, local_port, remote_address, remote_port, accepted, state, uid, owner, run,
    netns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
INSERT_LISTENER_EVENT = """INSERT INTO listener_events (at, change, proto, family, address,
    port, exposure, uid, owner, while_stopped, run, netns)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
OPEN_COLUMNS = """o.id, o.opened, o.proto, o.family, o.local_address, o.local_port,
    o.remote_address, o.remote_port, o.accepted, o.state, o.uid, w.pid, w.process, w.user,
    w.place, n.inode, n.name"""
OPEN_JOINS = """FROM open_connections o LEFT JOIN owners w ON w.id = o.owner
    LEFT JOIN namespaces n ON n.id = o.netns"""


class Ids:
    """The row ids a batch names its owners and namespaces by: `owner(who)`,
    `netns(inode, name)`, each None for what is not known."""

    def __init__(self, owner: Callable[[Who], int], netns: Callable[[int, str], int]) -> None:
        self._owner = owner
        self._netns = netns

    def owner(self, who: Who | None) -> int | None:
        return None if who is None else self._owner(who)

    def netns(self, inode: int | None, name: str | None) -> int | None:
        return None if inode is None else self._netns(inode, name or "")


@dataclass(frozen=True, slots=True)
class Recovered:
    """What the last run left: connections it had seen open, and the listeners present
    (the latest event of each was `appeared`)."""

    open_connections: tuple[OpenConnection, ...]
    listeners: tuple[ListenerEvent, ...]
    next_open_id: int


def connection_row(c: ClosedConnection, ids: Ids, run: int) -> tuple[object, ...]:
    lifetime = None if c.lifetime is None else ms(c.lifetime)
    return (
        ms(c.closed), c.ended, c.proto, c.family, c.local_address, c.local_port,
        c.remote_address, c.remote_port, int(c.accepted),
        None if c.opened is None else ms(c.opened), c.state, lifetime, c.bound, c.sent,
        c.received, c.uid, ids.owner(c.owner), c.owner_from, ids.owner(c.peer), run,
        ids.netns(c.netns, c.netns_name),
    )  # fmt: skip


def open_row(o: OpenConnection, ids: Ids, run: int) -> tuple[object, ...]:
    return (
        o.id, ms(o.opened), o.proto, o.family, o.local_address, o.local_port,
        o.remote_address, o.remote_port, int(o.accepted), o.state, o.uid, ids.owner(o.owner), run,
        ids.netns(o.netns, o.netns_name),
    )  # fmt: skip


def listener_row(e: ListenerEvent, ids: Ids, run: int) -> tuple[object, ...]:
    return (
        ms(e.at), e.change, e.proto, e.family, e.address, e.port, e.exposure, e.uid,
        ids.owner(e.owner), int(e.while_stopped), run, ids.netns(e.netns, e.netns_name),
    )  # fmt: skip


class Store:
    """The writer's connection to one history database."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._ids: dict[tuple[object, ...], int] = {}
        """Owners (`("owner", Who)`) and namespaces (`("netns", inode, name)`) by row id."""
        self.run = 0

    @classmethod
    def open(cls, path: Path) -> Store:
        return cls(open_for_writing(path), path)

    def start_run(self, started: float, interval: float, kernel_events: bool, note: str | None):
        cursor = self.conn.execute(
            "INSERT INTO runs (started, last_write, interval, kernel_events, note, pid, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ms(started),
                ms(started),
                interval,
                int(kernel_events),
                note,
                os.getpid(),
                __version__,
            ),
        )
        self.run = int(cursor.lastrowid or 0)

    def finish_run(self, stopped: float, dropped: int) -> None:
        self.conn.execute(
            "UPDATE runs SET stopped = ?, last_write = ?, dropped = ? WHERE id = ?",
            (ms(stopped), ms(stopped), dropped, self.run),
        )

    def write(self, batch: Batch, at: float, dropped: int) -> None:
        """Everything in `batch`, and the run's heartbeat, in one transaction; on any
        error nothing of it is kept (and the error is raised)."""
        given: list[tuple[object, ...]] = []
        ids = Ids(
            lambda who: self._row_id(
                ("owner", who),
                "SELECT id FROM owners WHERE process IS ? AND pid IS ? AND user IS ? "
                "AND place IS ?",
                "INSERT INTO owners (process, pid, user, place) VALUES (?, ?, ?, ?)",
                (who.process, who.pid, who.user, who.place),
                given,
            ),
            lambda inode, name: self._row_id(
                ("netns", inode, name),
                "SELECT id FROM namespaces WHERE inode = ? AND name = ?",
                "INSERT INTO namespaces (inode, name) VALUES (?, ?)",
                (inode, name),
                given,
            ),
        )
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            run = self.run
            conn.executemany(INSERT_CONNECTION, (connection_row(c, ids, run) for c in batch.closed))
            conn.executemany(INSERT_OPEN, (open_row(o, ids, run) for o in batch.opened))
            conn.executemany(
                "DELETE FROM open_connections WHERE id = ?", ((i,) for i in batch.finished)
            )
            conn.executemany(
                INSERT_LISTENER_EVENT,
                (listener_row(e, ids, run) for e in batch.listener_events),
            )
            conn.execute(
                "UPDATE runs SET last_write = ?, dropped = ? WHERE id = ?", (ms(at), dropped, run)
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for key in given:
                del self._ids[key]
            raise

    def _row_id(
        self,
        key: tuple[object, ...],
        find: str,
        insert: str,
        values: tuple[object, ...],
        given: list[tuple[object, ...]],
    ) -> int:
        """The id of the row `values` in a small table of names (owners, namespaces),
        inserted if it is not there; kept in memory, and in `given` for a rollback to
        forget."""
        found = self._ids.get(key)
        if found is not None:
            return found
        row = self.conn.execute(find, values).fetchone()
        if row is None:
            row = (self.conn.execute(insert, values).lastrowid,)
        self._ids[key] = int(row[0])
        given.append(key)
        return int(row[0])

    def recovered(self) -> Recovered:
        rows = self.conn.execute(f"SELECT {OPEN_COLUMNS} {OPEN_JOINS}").fetchall()
        found = tuple(
            OpenConnection(
                r[0], r[1] / 1000, r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9], r[10],
                who(r[11], r[12], r[13], r[14]), r[15], r[16],
            )
            for r in rows
        )  # fmt: skip
        highest = max((o.id for o in found), default=0)
        return Recovered(found, tuple(present_listeners(self.conn)), highest + 1)

    def close(self) -> None:
        self.conn.close()


def present_listeners(conn: sqlite3.Connection) -> Iterable[ListenerEvent]:
    """Each listener (proto, family, address, port, process) whose latest event is
    `appeared`, as that event."""
    rows = conn.execute(
        f"""SELECT {LISTENER_COLUMNS} {LISTENER_JOINS}
        WHERE e.id IN (
            SELECT max(l.id) FROM listener_events l LEFT JOIN owners o ON o.id = l.owner
            LEFT JOIN namespaces s ON s.id = l.netns
            GROUP BY l.proto, l.family, l.address, l.port, o.process, coalesce(s.name, 'host'))
        AND e.change = 'appeared'"""
    ).fetchall()
    return (listener_event(row) for row in rows)
