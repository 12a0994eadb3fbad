"""The questions the history answers, read-only: the API the CLI, the lookup card and
the dashboard's History view call.

    reader = HistoryReader.open(default_db())     # HistoryRefused: one line, why not
    reader.last_use(60630)                         # PortHistory, for the lookup card
    reader.recent(HistoryFilter(since, until, port=5432), limit=50)   # HistoryPage
    reader.listener_changes(since, until)          # ListenerEvents, oldest first

Each call is a few index lookups: connection ids follow the order of the ends
(`schema`), so a time window is an id range found by bisection (`first_id_at`), and a
port, address or process narrows through its index within that range. A page is the
newest `limit` of each of a port's four index ranges (`PORT_SIDES`), merged; counts
over a window take its whole hours from `connection_hours` and only the rest from the
rows (`HistoryReader._groups`), so a port with a hundred thousand connections a day costs what one
with a hundred does.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from portscope.addresses import plain_ip
from portscope.history.database import ms, open_for_reading, seconds
from portscope.history.paths import HistoryRefused
from portscope.history.records import (
    DAY,
    ClosedConnection,
    HistoryFilter,
    HistoryPage,
    ListenerEvent,
    PortHistories,
    PortHistory,
    Run,
    Who,
    Window,
)
from portscope.history.schema import HOUR_MS, HOURLY_SCHEMA, NETNS_SCHEMA, version_of
from portscope.model import NETNS_PREFIX, endpoint

SLACK_MS = 600_000
"""How much earlier than the rows written before it a row's close may be: the recorder
writes an end within seconds of it (its grace and batch interval), so ten minutes of
slack keeps every row of a window inside the id range found for it."""
TOP = 10
"""Processes and destinations counted in a page."""
CONNECTION_COLUMNS = """c.closed, c.ended, c.proto, c.family, c.local_address, c.local_port,
    c.remote_address, c.remote_port, c.accepted, c.opened, c.state, c.lifetime, c.bound,
    c.sent, c.received, c.uid, w.pid, w.process, w.user, c.owner_from,
    p.pid, p.process, p.user, w.place, p.place, n.inode, n.name"""
CONNECTION_JOINS = """FROM connections c LEFT JOIN owners w ON w.id = c.owner
    LEFT JOIN owners p ON p.id = c.peer LEFT JOIN namespaces n ON n.id = c.netns"""
LISTENER_COLUMNS = """e.at, e.change, e.proto, e.family, e.address, e.port, e.exposure, e.uid,
    e.while_stopped, w.pid, w.process, w.user, w.place, n.inode, n.name"""
LISTENER_JOINS = """FROM listener_events e LEFT JOIN owners w ON w.id = e.owner
    LEFT JOIN namespaces n ON n.id = e.netns"""
BEFORE_NETNS = {
    "w.place": "NULL", "p.place": "NULL", "n.inode": "NULL", "n.name": "NULL",
    " LEFT JOIN namespaces n ON n.id = c.netns": "",
    "\n    LEFT JOIN namespaces n ON n.id = e.netns": "",
}  # fmt: skip
"""How a query reads a database of schema 2 or older, which no recorder has migrated
yet: without namespaces, owners without places."""
DESTINATION = (
    "CASE WHEN c.accepted THEN NULL ELSE c.remote_address END, "
    "CASE WHEN c.accepted THEN NULL ELSE c.remote_port END"
)
"""Where an outgoing connection went (an accepted one's far end is a client, not a
destination, and would make a group of every connection)."""
RUN_COLUMNS = "started, last_write, stopped, interval, kernel_events, note, dropped"
ID_RANGE = "SELECT (SELECT min(id) FROM connections), (SELECT max(id) FROM connections)"
"""Two lookups at the ends of the rowid tree; `SELECT min(id), max(id)` scans the table."""
PORT_SIDES = (("local_port", 1), ("remote_port", 0), ("local_port", 0), ("remote_port", 1))
"""The (column, accepted) index ranges a port's connections are in: the first two where
it is the service's end (`connection_hours.port`), the last two the client's."""
SERVICE_PORT = "CASE WHEN c.accepted THEN c.local_port ELSE c.remote_port END"
Group = tuple["int | None", "str | None", "int | None", int]
"""(owner id, destination address, destination port, connections)."""


def who(
    pid: int | None, process: str | None, user: str | None, place: str | None = None
) -> Who | None:
    if pid is None and process is None and user is None:
        return None
    return Who(pid, process, user, place)


def before_netns(sql: str) -> str:
    """`sql` for a database from before schema 3 (see `BEFORE_NETNS`)."""
    for new, old in BEFORE_NETNS.items():
        sql = sql.replace(new, old)
    return sql


def closed_connection(row: Sequence[object]) -> ClosedConnection:
    r: list = list(row)
    return ClosedConnection(
        proto=r[2], family=r[3], local_address=r[4], local_port=r[5], remote_address=r[6],
        remote_port=r[7], closed=r[0] / 1000, ended=r[1], accepted=bool(r[8]),
        opened=seconds(r[9]), state=r[10], lifetime=seconds(r[11]), bound=r[12], sent=r[13],
        received=r[14], uid=r[15], owner=who(r[16], r[17], r[18], r[23]), owner_from=r[19],
        peer=who(r[20], r[21], r[22], r[24]), netns=r[25], netns_name=r[26],
    )  # fmt: skip


def listener_event(row: Sequence[object]) -> ListenerEvent:
    r: list = list(row)
    return ListenerEvent(
        at=r[0] / 1000, change=r[1], proto=r[2], family=r[3], address=r[4], port=r[5],
        exposure=r[6], uid=r[7], while_stopped=bool(r[8]), owner=who(r[9], r[10], r[11], r[12]),
        netns=r[13], netns_name=r[14],
    )  # fmt: skip


def run_record(row: Sequence[object]) -> Run:
    r: list = list(row)
    return Run(r[0] / 1000, r[1] / 1000, seconds(r[2]), r[3], bool(r[4]), r[5], r[6])


def first_id_at(conn: sqlite3.Connection, at_ms: int) -> int:
    """An id below which every connection closed before `at_ms`: the lowest id whose row
    closed at or after `at_ms - SLACK_MS`, by bisection over the ids (which are in the
    order of the ends, to within the slack)."""
    target = at_ms - SLACK_MS
    lowest, highest = conn.execute(ID_RANGE).fetchone()
    if lowest is None:
        return 1
    low, high = lowest, highest + 1  # below low: before target; from high on: not
    while low < high:
        mid = (low + high) // 2
        row = conn.execute(
            "SELECT id, closed FROM connections WHERE id >= ? ORDER BY id LIMIT 1", (mid,)
        ).fetchone()
        if row is None or row[0] >= high or row[1] >= target:
            high = mid
        else:
            low = row[0] + 1
    return low


def mapped_spellings(address: str) -> tuple[str, str]:
    """An address as the kernel writes it: an IPv4 one (or its v4-mapped form) both plain
    and as a dual-stack socket's peer, `::ffff:a.b.c.d`; an IPv6 one compressed."""
    ip = plain_ip(address)
    if ip is None:
        return address, address
    text = str(ip)
    return (text, f"::ffff:{text}") if ip.version == 4 else (text, text)


def matches(wanted: HistoryFilter, c: ClosedConnection) -> bool:
    """Whether a connection passes `wanted`: the same test as `HistoryReader.recent`'s
    SQL, for histories held in memory (`recorder.session`)."""
    if not wanted.since <= c.closed <= wanted.until:
        return False
    if wanted.port is not None and wanted.port not in (c.local_port, c.remote_port):
        return False
    if wanted.process is not None and (c.owner is None or c.owner.process != wanted.process):
        return False
    if wanted.remote_port is not None and c.remote_port != wanted.remote_port:
        return False
    if not wanted.in_netns(c.netns, c.netns_name):
        return False
    spelled = mapped_spellings(wanted.remote_address) if wanted.remote_address else None
    return spelled is None or c.remote_address in spelled


def listener_matches(wanted: HistoryFilter, e: ListenerEvent) -> bool:
    """`matches` for a listener event (which has no remote end)."""
    if wanted.remote_address is not None or wanted.remote_port is not None:
        return False
    if not wanted.since <= e.at <= wanted.until:
        return False
    if wanted.port is not None and e.port != wanted.port:
        return False
    if not wanted.in_netns(e.netns, e.netns_name):
        return False
    return wanted.process is None or (e.owner is not None and e.owner.process == wanted.process)


class HistoryReader:
    """Read-only questions to one history database (see the module)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        version = version_of(conn)
        self.hourly = version >= HOURLY_SCHEMA
        """Whether `connection_hours` is there: a database of schema 1 that no recorder
        has migrated yet is read row by row (as correct, slower)."""
        self.namespaced = version >= NETNS_SCHEMA
        """Whether rows name their namespace (`BEFORE_NETNS`)."""
        self._first_ids: dict[int, int] = {}

    @classmethod
    def open(cls, path: Path) -> HistoryReader:
        return cls(open_for_reading(path), path)

    def close(self) -> None:
        self.conn.close()

    def runs(self, since: float, until: float) -> tuple[Run, ...]:
        rows = self.conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE started <= ? "
            "AND coalesce(stopped, last_write) >= ? ORDER BY started",
            (ms(until), ms(since)),
        ).fetchall()
        return tuple(map(run_record, rows))

    def last_use(self, port: int, window: float = DAY, now: float | None = None) -> PortHistory:
        """The newest connection with `port` at either end (whenever it was), and how
        many had it within `window` seconds before `now`."""
        now = time.time() if now is None else now
        span = Window(now - window, now)
        newest = 0
        for column, accepted in PORT_SIDES:
            row = self.conn.execute(
                f"SELECT id FROM connections WHERE {column} = ? AND accepted = ? "
                "ORDER BY id DESC LIMIT 1",
                (port, accepted),
            ).fetchone()
            newest = max(newest, row[0] if row else 0)
        last = None
        if newest:
            row = self.conn.execute(
                self._sql(f"SELECT {CONNECTION_COLUMNS} {CONNECTION_JOINS} WHERE c.id = ?"),
                (newest,),
            ).fetchone()
            last = closed_connection(row)
        groups = self._groups(HistoryFilter(span.since, span.until, port=port))
        count = sum(group[-1] for group in groups)
        return PortHistory(port, span, last, count, self.runs(span.since, span.until))

    def recent(self, wanted: HistoryFilter, limit: int = 50) -> HistoryPage:
        """The newest `limit` connections and listener events that match, newest first,
        and the matching connections counted per process and per destination."""
        groups = self._groups(wanted)
        names = self._process_names({owner for owner, *_rest in groups})
        by_process: Counter[str] = Counter()
        by_destination: Counter[str] = Counter()
        for owner, address, port, count in groups:
            by_process[names.get(owner) or "?"] += count
            if address is not None and port is not None:
                by_destination[endpoint(address, port)] += count
        return HistoryPage(
            filter=wanted,
            connections=self._newest(wanted, limit),
            listener_events=self._listener_events(wanted, limit),
            total=by_process.total(),
            by_process=tuple(by_process.most_common(TOP)),
            by_destination=tuple(by_destination.most_common(TOP)),
            runs=self.runs(wanted.since, wanted.until),
        )

    def _newest(self, wanted: HistoryFilter, limit: int) -> tuple[ClosedConnection, ...]:
        """The newest `limit` matches: for a port, the newest `limit` of each of its
        index ranges, merged (each range is in id order, so each stops after `limit`)."""
        low, high = self._id_range(wanted.since, wanted.until)
        where, args = self._row_filter(wanted)
        if wanted.port is None:
            chosen = f"c.id >= ? AND c.id < ? AND {where}"
            chosen_args: tuple[object, ...] = (low, high, *args)
        else:
            sides = " UNION ALL ".join(
                f"SELECT id FROM (SELECT c.id FROM connections c WHERE c.{column} = ? AND "
                f"c.accepted = {accepted} AND c.id >= ? AND c.id < ? AND {where} "
                "ORDER BY c.id DESC LIMIT ?)"
                for column, accepted in PORT_SIDES
            )
            chosen = f"c.id IN ({sides})"
            chosen_args = tuple(
                value for _side in PORT_SIDES for value in (wanted.port, low, high, *args, limit)
            )
        rows = self.conn.execute(
            self._sql(
                f"SELECT {CONNECTION_COLUMNS} {CONNECTION_JOINS} WHERE {chosen} "
                "ORDER BY c.id DESC LIMIT ?"
            ),
            (*chosen_args, limit),
        ).fetchall()
        return tuple(map(closed_connection, rows))

    def _groups(self, wanted: HistoryFilter) -> list[Group]:
        """The window's matching connections counted per owner and destination: its whole
        hours from `connection_hours` where the filter can be asked of it (a port, a
        process), the rest from the rows."""
        low, high = self._id_range(wanted.since, wanted.until)
        hours = None
        asks_rows = (wanted.remote_address, wanted.remote_port, wanted.netns) != (None, None, None)
        if self.hourly and not asks_rows:
            hours = self._whole_hours(wanted.since, wanted.until)
        if hours is None:
            return self._row_groups(wanted, [(low, high)], [(low, high)], None)
        first, last = hours
        # rows closed before the first whole hour are below this id, after the last from this
        before_hours = min(high, self._first_id(first * HOUR_MS + 2 * SLACK_MS))
        after_hours = max(low, self._first_id(last * HOUR_MS))
        partial = [(low, before_hours), (after_hours, high)]
        rows = self._row_groups(wanted, partial, [(low, high)], (first, last))
        return rows + self._hour_groups(wanted, first, last)

    def _whole_hours(self, since: float, until: float) -> tuple[int, int] | None:
        """The hours [first, last) that lie wholly in the window and after every row that
        retention deleted (`schema`); None when there is none."""
        oldest = self.conn.execute("SELECT closed FROM connections ORDER BY id LIMIT 1").fetchone()
        if oldest is None:
            return None
        complete_from = max(ms(since), oldest[0] + SLACK_MS)
        first = -(-complete_from // HOUR_MS)
        last = (ms(until) + 1) // HOUR_MS
        return (first, last) if first < last else None

    def _hour_groups(self, wanted: HistoryFilter, first: int, last: int) -> list[Group]:
        where = ["hour >= ?", "hour < ?"]
        args: list[object] = [first, last]
        if wanted.port is not None:
            where.append("port = ?")
            args.append(wanted.port)
        if wanted.process is not None:
            where.append("owner IN (SELECT id FROM owners WHERE process = ?)")
            args.append(wanted.process)
        rows = self.conn.execute(
            "SELECT nullif(owner, 0), CASE WHEN accepted THEN NULL ELSE address END, "
            "CASE WHEN accepted THEN NULL ELSE port END, sum(count) FROM connection_hours "
            f"WHERE {' AND '.join(where)} GROUP BY 1, 2, 3",
            args,
        ).fetchall()
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def _row_groups(
        self,
        wanted: HistoryFilter,
        service_ranges: list[tuple[int, int]],
        client_ranges: list[tuple[int, int]],
        hours: tuple[int, int] | None,
    ) -> list[Group]:
        """Matching rows counted per owner and destination, less those `hours` counts
        (closed within them, and the port their service port, when a port is asked):
        for a port, its service side's rows in `service_ranges` and its client side's
        in `client_ranges`; without one, every row in `service_ranges`."""
        where, args = self._row_filter(wanted)
        clauses, values = [where], list(args)
        if hours is not None:
            counted = "c.closed >= ? AND c.closed < ?"
            values += [hours[0] * HOUR_MS, hours[1] * HOUR_MS]
            if wanted.port is not None:
                counted += f" AND {SERVICE_PORT} = ?"
                values.append(wanted.port)
            clauses.append(f"NOT ({counted})")
        if wanted.port is None:
            spans = " OR ".join("(c.id >= ? AND c.id < ?)" for _span in service_ranges)
            clauses.append(f"({spans})")
            values += [bound for span in service_ranges for bound in span]
        else:
            parts, ids = [], []
            for index, (column, accepted) in enumerate(PORT_SIDES):
                for low, high in service_ranges if index < 2 else client_ranges:
                    parts.append(
                        f"SELECT id FROM connections WHERE {column} = ? AND accepted = "
                        f"{accepted} AND id >= ? AND id < ?"
                    )
                    ids += [wanted.port, low, high]
            clauses.append(f"c.id IN ({' UNION ALL '.join(parts)})")
            values += ids
        rows = self.conn.execute(
            f"SELECT c.owner, {DESTINATION}, count(*) FROM connections c "
            f"WHERE {' AND '.join(clauses)} GROUP BY 1, 2, 3",
            values,
        ).fetchall()
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def _process_names(self, owners: set[int | None]) -> dict[int | None, str | None]:
        """Process names of owner ids (grouping by id, then naming the few groups, spares
        a join on every matching row)."""
        ids = [i for i in owners if i is not None]
        marks = ", ".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT id, process FROM owners WHERE id IN ({marks})", ids)
        return dict(rows.fetchall())

    def listener_changes(self, since: float, until: float) -> tuple[ListenerEvent, ...]:
        """Every listener event in the window, oldest first."""
        rows = self.conn.execute(
            self._sql(
                f"SELECT {LISTENER_COLUMNS} {LISTENER_JOINS} WHERE e.at >= ? AND e.at <= ? "
                "ORDER BY e.id"
            ),
            (ms(since), ms(until)),
        ).fetchall()
        return tuple(map(listener_event, rows))

    def _listener_events(self, wanted: HistoryFilter, limit: int) -> tuple[ListenerEvent, ...]:
        if wanted.remote_address is not None or wanted.remote_port is not None:
            return ()  # a listener has no remote end
        where = ["e.at >= ?", "e.at <= ?"]
        args: list[object] = [ms(wanted.since), ms(wanted.until)]
        if wanted.port is not None:
            where.append("e.port = ?")
            args.append(wanted.port)
        if wanted.process is not None:
            where.append("w.process = ?")
            args.append(wanted.process)
        if wanted.netns is not None:
            clause, values = self._netns_clause("e", wanted.netns)
            where.append(clause)
            args += values
        rows = self.conn.execute(
            self._sql(
                f"SELECT {LISTENER_COLUMNS} {LISTENER_JOINS} WHERE {' AND '.join(where)} "
                "ORDER BY e.id DESC LIMIT ?"
            ),
            (*args, limit),
        ).fetchall()
        return tuple(map(listener_event, rows))

    def _first_id(self, at_ms: int) -> int:
        found = self._first_ids.get(at_ms)
        if found is None:
            found = self._first_ids[at_ms] = first_id_at(self.conn, at_ms)
        return found

    def _id_range(self, since: float, until: float) -> tuple[int, int]:
        """Ids [low, high) holding every connection that closed in the window: every
        row from `high` on closed after `until` (see `first_id_at` and the slack)."""
        return self._first_id(ms(since)), self._first_id(ms(until) + 2 * SLACK_MS + 1)

    def _row_filter(self, wanted: HistoryFilter) -> tuple[str, tuple[object, ...]]:
        """The WHERE clause (over `connections c`) for the window's times, the process
        and the remote end; the port and the id range are the caller's."""
        where = ["c.closed >= ?", "c.closed <= ?"]
        args: list[object] = [ms(wanted.since), ms(wanted.until)]
        if wanted.process is not None:
            where.append("c.owner IN (SELECT id FROM owners WHERE process = ?)")
            args.append(wanted.process)
        if wanted.remote_address is not None:
            where.append("c.remote_address IN (?, ?)")
            args += mapped_spellings(wanted.remote_address)
        if wanted.remote_port is not None:
            where.append("c.remote_port = ?")
            args.append(wanted.remote_port)
        if wanted.netns is not None:
            clause, values = self._netns_clause("c", wanted.netns)
            where.append(clause)
            args += values
        return " AND ".join(where), tuple(args)

    def _netns_clause(self, table: str, selector: str) -> tuple[str, list[object]]:
        """Rows of `table` (its alias) in the namespace `selector` names: by the name it
        had, or by inode; none before schema 3, whose rows name no namespace."""
        if not self.namespaced:
            return "0", []
        number = selector.removeprefix(NETNS_PREFIX)
        inode = int(number) if number.isdigit() else -1
        return (
            f"{table}.netns IN (SELECT id FROM namespaces WHERE name = ? OR inode = ?)",
            [selector, inode],
        )

    def _sql(self, sql: str) -> str:
        return sql if self.namespaced else before_netns(sql)


def port_histories(
    path: Path, ports: Iterable[int], window: float = DAY, now: float | None = None
) -> PortHistories:
    """The lookup card's History for each port, from the database at `path`, or why
    there is none (no database, one that is refused, one that fails to read)."""
    now = time.time() if now is None else now
    try:
        reader = HistoryReader.open(path)
    except HistoryRefused as exc:
        return PortHistories({}, f"not available: {exc}")
    try:
        return PortHistories({port: reader.last_use(port, window, now) for port in ports})
    except sqlite3.Error as exc:
        return PortHistories({}, f"not available: {path} could not be read ({exc})")
    finally:
        reader.close()
