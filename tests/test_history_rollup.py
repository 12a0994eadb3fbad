"""The hourly counts (`connection_hours`, schema 2) answer as the rows do: a history
written through the recorder's own store, over thirty hours, asked every question the
CLI, the lookup card and the History view ask, against the same filter applied to
every row (`query.matches`); pruned; and a schema 1 history, read as it is and then
migrated."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from history_rows import CURL, NGINX, connection, old_history, write_history
from portscope.history.database import open_for_writing
from portscope.history.query import HistoryReader, matches
from portscope.history.records import ClosedConnection, HistoryFilter, Who
from portscope.history.retention import Limits, prune
from portscope.history.schema import SCHEMA_VERSION

START = 1_800_000_000.0
HOUR = 3600.0
PSQL = Who(3001, "psql", "app")
SERVICES = ((5432, "10.0.0.5"), (5432, "10.0.0.6"), (443, "203.0.113.9"))


def history(count: int = 6000, hours: float = 30.0, seed: int = 15) -> list[ClosedConnection]:
    """Connections over `hours`, in the order they are written: outgoing ones from a few
    client ports (so one is both a client's and, once, a service's port) to a few
    destinations, accepted ones on 8080; owners known and not; ends up to five minutes
    out of order, as a writer's grace and batches leave them."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        closed = round(START + i * hours * HOUR / count - rng.random() * 300, 3)
        owner = rng.choice([CURL, PSQL, None])
        if rng.random() < 0.2:
            rows.append(connection(closed, 8080, "192.0.2.77", 40000 + rng.randrange(8),
                                   owner=rng.choice([NGINX, None]), accepted=True))  # fmt: skip
            continue
        port, address = rng.choice(SERVICES)
        client = 40000 + rng.randrange(8) if i % 97 else 5432
        rows.append(connection(closed, client, address, port, owner=owner))
    return rows


def expected(rows: list[ClosedConnection], wanted: HistoryFilter, limit: int) -> tuple:
    found = [c for c in rows if matches(wanted, c)]
    by_process = Counter(c.owner.process if c.owner and c.owner.process else "?" for c in found)
    by_destination = Counter(c.remote for c in found if not c.accepted)
    newest = tuple(reversed(found))[:limit]
    return len(found), dict(by_process), dict(by_destination), newest


def answered(reader: HistoryReader, wanted: HistoryFilter, limit: int) -> tuple:
    page = reader.recent(wanted, limit)
    return page.total, dict(page.by_process), dict(page.by_destination), page.connections


def questions() -> list[HistoryFilter]:
    windows = [
        (START, START + 30 * HOUR),
        (START + 2.5 * HOUR, START + 26.25 * HOUR),  # partial hours at both ends
        (START + 5 * HOUR, START + 6 * HOUR),  # exactly one hour
        (START + 7.2 * HOUR, START + 7.9 * HOUR),  # inside one hour
    ]
    filters: list[dict[str, object]] = [
        {},
        {"port": 5432},
        {"port": 8080},
        {"port": 40003},
        {"port": 443, "process": "curl"},
        {"process": "psql"},
        {"port": 5432, "remote_address": "10.0.0.6"},
        {"remote_address": "203.0.113.9", "remote_port": 443},
    ]
    return [HistoryFilter(since, until, **f) for since, until in windows for f in filters]  # type: ignore[arg-type]


def assert_same_answers(db: Path, rows: list[ClosedConnection]) -> None:
    reader = HistoryReader.open(db)
    try:
        for wanted in questions():
            assert answered(reader, wanted, 40) == expected(rows, wanted, 40), wanted
        for port in (5432, 8080, 40003, 443, 1):
            span = HistoryFilter(START + 3.3 * HOUR, START + 27.7 * HOUR, port=port)
            use = reader.last_use(port, window=span.until - span.since, now=span.until)
            assert use.count == expected(rows, span, 1)[0]
            on_port = [c for c in rows if port in (c.local_port, c.remote_port)]
            assert use.last == (on_port[-1] if on_port else None)
    finally:
        reader.close()


def test_counts_from_whole_hours_and_partial_ones_are_the_rows_counts(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    rows = history()
    write_history(db, rows, batch=500)
    assert_same_answers(db, rows)
    conn = sqlite3.connect(db)
    hours = conn.execute("SELECT count(*), sum(count) FROM connection_hours").fetchone()
    conn.close()
    assert hours[1] == len(rows) and hours[0] < len(rows) / 10


def test_after_retention_the_hours_left_count_only_the_rows_left(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    rows = history()
    write_history(db, rows, batch=500)
    conn = open_for_writing(db)
    now = START + 30 * HOUR
    prune(conn, Limits(max_age=20.6 * HOUR), now)
    kept = {r[0] for r in conn.execute("SELECT closed FROM connections")}
    oldest_hour = conn.execute("SELECT min(hour) FROM connection_hours").fetchone()[0]
    conn.close()
    left = [c for c in rows if round(c.closed * 1000) in kept]
    assert 0 < len(left) < len(rows)
    assert oldest_hour >= int((min(c.closed for c in left) - 600) // HOUR) - 1
    assert_same_answers(db, left)


def schema_1_history(db: Path, rows: list[ClosedConnection]) -> None:
    """A history as a portscope of schema 1 wrote it: its tables, its store's writes."""
    old_history(db, 1, rows, START - 1)


@pytest.mark.parametrize("count", [3000])
def test_a_schema_1_history_is_read_as_it_is_and_migrated_with_its_hours(
    tmp_path: Path, count: int
) -> None:
    db = tmp_path / "history.db"
    rows = history(count)
    schema_1_history(db, rows)
    assert_same_answers(db, rows)  # read before any recorder migrated it
    open_for_writing(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert conn.execute("SELECT sum(count) FROM connection_hours").fetchone() == (count,)
    conn.close()
    assert_same_answers(db, rows)
    more = [connection(START + 30 * HOUR + i, 41000 + i) for i in range(5)]
    write_history(db, more)  # the trigger counts what the store writes after
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT sum(count) FROM connection_hours").fetchone() == (count + 5,)
    conn.close()
