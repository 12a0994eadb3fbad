"""Schema 3: a schema 2 history is read as it is and migrated keeping every row (whose
namespace is not known: NULL), a schema 3 one names each row's namespace and owner's
place, and `history --netns` selects by either."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from conftest import run_portscope
from history_rows import CURL, connection, old_history, write_history
from portscope.history.database import open_for_writing
from portscope.history.records import ListenerEvent, Who
from portscope.history.schema import SCHEMA_VERSION

NOW = 1_800_000_000.0
WEB = 4026532999


def history(db: Path, *args: str) -> dict:
    done = run_portscope("history", "--db", str(db), "--json", "--since", "7d", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_schema_2_history_keeps_its_rows_through_the_migration(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    now = time.time()
    rows = [connection(now - 3600 + i, 41000 + i) for i in range(50)]
    old_history(db, 2, rows, now - 7200)
    before = history(db)  # read before any recorder migrated it
    assert before["total"] == 50
    assert {(c["netns"], c["netns_name"], c["place"]) for c in before["connections"]} == {
        (None, None, None)
    }
    open_for_writing(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert conn.execute("SELECT count(*) FROM connections WHERE netns IS NULL").fetchone() == (50,)
    conn.close()
    after = history(db)
    assert after["connections"] == before["connections"] and after["total"] == 50
    assert history(db, "--netns", "host")["connections"] == []  # they name no namespace


def test_rows_name_their_namespace_and_history_netns_selects_by_name_or_inode(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.db"
    now = time.time()
    in_web = Who(77, "python3", "root", "web")
    rows = [
        connection(now - 30, 41000, netns=1, netns_name="host"),
        connection(now - 20, 41000, owner=in_web, netns=WEB, netns_name="web"),
    ]
    events = [
        ListenerEvent(now - 25, "appeared", "tcp", "ipv4", "0.0.0.0", 8080, "all", CURL,
                      netns=1, netns_name="host"),
        ListenerEvent(now - 24, "appeared", "tcp", "ipv4", "0.0.0.0", 8080, "container",
                      in_web, netns=WEB, netns_name="web"),
    ]  # fmt: skip
    write_history(db, rows, events)
    (web,) = history(db, "--netns", "web")["connections"]
    assert (web["netns"], web["netns_name"], web["place"], web["pid"]) == (WEB, "web", "web", 77)
    by_inode = history(db, "--netns", f"netns:{WEB}")
    assert by_inode["connections"] == [web]
    assert [(e["netns_name"], e["exposure"]) for e in by_inode["listener_events"]] == [
        ("web", "container")
    ]
    assert [c["netns_name"] for c in history(db, "--netns", "host")["connections"]] == ["host"]
    text = run_portscope("history", "--db", str(db), "--since", "7d").stdout
    assert "NETNS" in text.splitlines()[4] and " web " in text
    diff = run_portscope("diff", "--since", "7d", "--db", str(db)).stdout
    assert "+ tcp 0.0.0.0:8080 in web python3 (container network only)  appeared" in diff
    assert "+ tcp 0.0.0.0:8080 curl (all interfaces)  appeared" in diff  # the host's
    csv = run_portscope("history", "--db", str(db), "--since", "7d", "--csv").stdout
    header, *lines = csv.splitlines()
    assert header.endswith(",netns,netns_name,place") and any(
        line.endswith(f",{WEB},web,web") for line in lines
    )


def test_a_history_of_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    write_history(db, [connection(NOW, 41000)])
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    done = run_portscope("history", "--db", str(db), "--netns", "host")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert f"newer portscope (schema {SCHEMA_VERSION + 1}" in done.stderr
