"""`portscope history` and the lookup card's History, read from histories written
through the recorder's own store."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from conftest import run_portscope
from history_rows import CURL, NGINX, connection, write_history
from portscope.history.query import port_histories
from portscope.history.records import ListenerEvent, Who
from portscope.knowledge import lookup
from portscope.model import EphemeralRange, PortRules
from portscope.report.lookup import CLI_CARD
from portscope.ui.widgets.lookup_card import PANE_CARD, card_content
from portscope.view.card import lookup_cards

NOW = time.time()
"""The rows are placed relative to this; windows the tests ask for are spelled as times,
not as durations from whenever the test happens to run."""
HOSTILE = Who(666, "=cmd|'\x1b[2J\u202e", "mallory")
RULES = PortRules(EphemeralRange(32768, 60999), 1024, False, "linux")


def local_time(at: float) -> str:
    """`at` as `--since`/`--until` take a date and time (local, to the second)."""
    return datetime.fromtimestamp(at).isoformat(timespec="seconds")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """37 uses of 60630 by curl to 203.0.113.9:443 today, one older; a connection
    accepted by nginx; one to a database; a hostile process name; listener events."""
    path = tmp_path_factory.mktemp("history") / "history.db"
    rows = [connection(NOW - 90_000, 60630)]  # older than a day
    rows += [connection(NOW - 3600 + i, 40000 + i, "198.51.100.7", 5432) for i in range(5)]
    rows += [connection(NOW - 3000 + 60 * i, 60630) for i in range(37)]
    rows.append(connection(NOW - 120, 443, "198.51.100.20", 51234, NGINX, accepted=True))
    rows.append(connection(NOW - 60, 41000, "::ffff:203.0.113.9", 443, HOSTILE, family="ipv6"))
    events = [
        ListenerEvent(NOW - 500, "appeared", "tcp", "ipv4", "0.0.0.0", 8080, "all", CURL),
        ListenerEvent(NOW - 400, "gone", "tcp", "ipv4", "0.0.0.0", 8080, "all", CURL),
    ]
    write_history(path, rows, events, started=NOW - 100_000)
    return path


def history(db: Path, *args: str) -> str:
    done = run_portscope("history", "--db", str(db), *args, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_history_lists_the_newest_first_with_counts(db: Path) -> None:
    text = history(db)
    lines = text.splitlines()
    assert lines[0].startswith(f"history in {db}, ")
    assert "with the kernel's socket-end events (every connection)" in lines[1]
    assert lines[2] == "44 connections, 2 listener events"
    table = lines[lines.index("") + 1 :]
    assert table[0].split() == ["TIME", "EVENT", "PROTO", "LOCAL", "REMOTE", "STATE", "FOR",
                                "SENT", "RECV", "PROCESS"]  # fmt: skip
    assert "[::ffff:203.0.113.9]:443" in table[1] and "666" in table[1]
    assert "closed in" in table[2] and "nginx (pid 812)" in table[2]
    assert "listen-" in table[3] and "all interfaces" in table[3]
    assert "per process: curl 42, " in text
    assert "per destination: 203.0.113.9:443 37, 198.51.100.7:5432 5" in text
    assert "\x1b" not in text and "\u202e" not in text


@pytest.mark.parametrize(
    ("args", "total"),
    [
        (["--port", "60630"], 37),
        (["--port", "60630", "--since", "2000-01-01"], 38),
        (["--port", "5432"], 5),
        (["--port", "443"], 39),  # either end: accepted on 443, or dialled to it
        (["--process", "curl"], 42),
        (["--process", "nginx"], 1),
        (["--remote", "198.51.100.7"], 5),
        (["--remote", "198.51.100.7:5432"], 5),
        (["--remote", "203.0.113.9"], 38),  # the IPv4-mapped spelling too
        (["--remote", "[::ffff:203.0.113.9]:443"], 38),  # the same peer, however spelled
        (["--since", local_time(NOW - 1710)], 15 + 2),  # the last 15 of the 37, nginx, hostile
        (["--until", local_time(NOW - 3060)], 5),  # the database ones; the old one is a day before
    ],
)
def test_filters_narrow_connections_and_counts(db: Path, args: list[str], total: int) -> None:
    doc = json.loads(history(db, "--json", *args))
    assert doc["schema"] == "portscope.history/1"
    assert doc["total"] == total
    closed = [c["closed"] for c in doc["connections"]]
    assert closed == sorted(closed, reverse=True)
    assert sum(p["count"] for p in doc["by_process"]) == total


def test_json_and_csv_carry_every_field_and_no_live_formula(db: Path) -> None:
    doc = json.loads(history(db, "--json", "--process", HOSTILE.process or ""))
    (row,) = doc["connections"]
    assert row["process"] == HOSTILE.process and row["pid"] == 666
    assert (row["sent"], row["received"], row["lifetime_s"], row["lifetime_bound"]) == (
        517, 4100, 0.4, "at least",
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(history(db, "--csv", "--since", "2000-01-01"))))
    assert len(rows) == 44 + 1 + 2
    hostile = next(r for r in rows if r["pid"] == "666")
    assert hostile["process"].startswith("'=cmd")
    assert {r["kind"] for r in rows} == {"connection", "listener"}


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "0"], ["--port", "65536"], ["--port", "http"], ["--remote", "example.com"],
        ["--remote", "[::1"], ["--remote", "1.2.3.4:99999"], ["--since", "yesterday"],
        ["--since", "5m", "--until", "1h"], ["--limit", "0"], ["--json", "--csv"],
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(db: Path, args: list[str]) -> None:
    done = run_portscope("history", "--db", str(db), *args, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_the_lookup_card_tells_who_last_borrowed_the_port(db: Path) -> None:
    done = run_portscope("lookup", "60630", "--offline", "--db", str(db), timeout=60)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "History" in line)
    assert line.split("History", 1)[1].strip().startswith("60630: last borrowed ")
    text = " ".join(done.stdout.split())
    assert "by curl (pid 4121) → 203.0.113.9:443 for ≥ 0.4 s; 37 times in 24 h" in text
    doc = json.loads(
        run_portscope("lookup", "60630", "--json", "--offline", "--db", str(db)).stdout
    )
    (result,) = doc["results"]
    assert result["history"]["count"] == 37 and doc["history_unavailable"] is None
    assert result["history"]["last"]["process"] == "curl"


def test_without_a_history_the_card_says_where_it_looked(tmp_path: Path) -> None:
    absent = tmp_path / "none.db"
    done = run_portscope("lookup", "22", "--offline", "--db", str(absent), timeout=60)
    assert done.returncode == 0
    text = "".join(done.stdout.split())  # a long path wraps, even inside itself
    assert f"Historynotavailable:nohistorydatabaseat{absent}" in text
    assert not absent.exists()


def test_the_pane_lays_out_the_same_history_line(db: Path) -> None:
    result = lookup("60630", RULES)
    found = port_histories(db, [60630], now=NOW)
    (cli,) = lookup_cards(result, CLI_CARD, found)
    (pane,) = lookup_cards(result, PANE_CARD, found)
    assert cli.section("History") == pane.section("History")
    shown = card_content(pane).plain
    assert cli.section("History").texts[0] in shown.replace("\u00a0", " ")
