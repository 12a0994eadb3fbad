"""The history database's file: made safely, refused when it cannot be trusted or read,
bounded by age and size. Every refusal is one line on stderr and exit status 2, and
leaves the file as it was."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli_env, needs_root, run_portscope
from history_rows import connection, write_history
from netns import netns_refusal
from portscope.history.database import open_for_writing
from portscope.history.paths import HistoryRefused
from portscope.history.query import HistoryReader
from portscope.history.retention import Limits, file_bytes, prune
from portscope.history.schema import APPLICATION_ID, SCHEMA_VERSION
from recording import NOBODY, recorder_argv

NOW = 1_800_000_000.0
READY = "first poll recorded"


def refused(command: str, db: Path, *more: str) -> str:
    """Run `portscope COMMAND --db DB`; it must refuse in one line with exit 2."""
    done = run_portscope(command, "--db", str(db), *more, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("portscope: "), done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def test_a_new_database_is_ours_alone_in_wal_mode_at_this_schema(tmp_path: Path) -> None:
    db = tmp_path / "state" / "history.db"
    open_for_writing(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert conn.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental


def test_a_database_from_a_newer_portscope_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    write_history(db, [connection(NOW, 40000)])
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = db.read_bytes()
    for command in ("history", "record"):
        line = refused(command, db)
        assert f"written by a newer portscope (schema {SCHEMA_VERSION + 1}" in line
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"SQLite format 3\0" + os.urandom(4000), "not an SQLite database, or a damaged one"),
        (os.urandom(8192), "not an SQLite database, or a damaged one"),
    ],
)
def test_a_file_that_is_no_database_is_refused_and_left_alone(
    tmp_path: Path, content: bytes, says: str
) -> None:
    db = tmp_path / "history.db"
    db.write_bytes(content)
    db.chmod(0o600)
    for command in ("history", "record"):
        assert says in refused(command, db)
    assert db.read_bytes() == content


def test_another_programs_sqlite_database_is_not_touched(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE accounts (name TEXT)")
    conn.commit()
    conn.close()
    db.chmod(0o600)
    before = db.read_bytes()
    for command in ("history", "record"):
        assert "an SQLite database, but not a portscope history" in refused(command, db)
    assert db.read_bytes() == before


def test_damaged_pages_in_a_history_are_one_line_and_exit_1(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    write_history(db, [connection(NOW + i, 32768 + i % 20000) for i in range(20_000)])
    conn = sqlite3.connect(db)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    schema = {n for (n,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'")}
    conn.close()
    data = bytearray(db.read_bytes())
    for number in set(range(4, 41)) - schema:  # its tables' pages, not what names them
        data[(number - 1) * page : number * page] = os.urandom(page)
    db.write_bytes(bytes(data))
    for command in (["history", "--since", "2020-01-01"], ["record"]):
        done = run_portscope(*command, "--db", str(db), timeout=60)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr and "damaged" in done.stderr
        assert done.stderr.count("\n") == 1


@needs_root
def test_a_symlink_planted_by_another_user_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    db = tmp_path / "history.db"
    db.symlink_to(victim)
    os.lchown(db, NOBODY, NOBODY)
    for command in ("record", "history"):
        assert "is a symbolic link (not followed)" in refused(command, db)
    assert victim.read_text() == "precious\n"
    wal = tmp_path / "other.db-wal"
    wal.symlink_to(victim)
    assert "is a symbolic link (not followed)" in refused("record", tmp_path / "other.db")
    assert not (tmp_path / "other.db").exists() and victim.read_text() == "precious\n"


@needs_root
@pytest.mark.parametrize("how", ["mode", "owner"])
def test_a_database_another_user_can_write_is_refused(tmp_path: Path, how: str) -> None:
    db = tmp_path / "history.db"
    write_history(db, [connection(NOW, 40000)])
    if how == "mode":
        db.chmod(0o666)
        expected = "other users can write"
    else:
        os.chown(db, NOBODY, NOBODY)
        expected = f"belongs to another user (uid {NOBODY})"
    for command in ("history", "record"):
        assert expected in refused(command, db)


def test_a_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    assert "other users can write the directory" in refused("record", shared / "history.db")
    assert not (shared / "history.db").exists()
    (shared / "history.db").touch(mode=0o600)
    assert "other users can write the directory" in refused("history", shared / "history.db")


@needs_root
def test_a_read_only_directory_is_one_line_and_a_read_only_history_still_reads(
    tmp_path: Path,
) -> None:
    source = tmp_path / "history.db"
    write_history(source, [connection(NOW, 40000)])
    mounted = tmp_path / "ro"
    mounted.mkdir(mode=0o700)
    script = f"""
set -e
mount -t tmpfs -o size=4m,mode=0700 tmpfs {mounted}
cp -p {source} {mounted}/history.db
mount -o remount,ro {mounted}
python -m portscope record --db {mounted}/new.db || echo "record: $?"
python -m portscope history --db {mounted}/history.db --since 2020-01-01 --json >/dev/null \\
  && echo "history: 0"
"""
    env = cli_env()
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert "record: 2" in done.stdout and "history: 0" in done.stdout, done
    assert done.stderr.count("\n") == 1
    assert f"cannot write {mounted}/new.db" in done.stderr
    assert "Read-only file system" in done.stderr


def test_retention_by_age_drops_the_old_rows_and_keeps_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    day = 86_400.0
    old = [connection(NOW - 40 * day + i, 40000 + i) for i in range(500)]
    recent = [connection(NOW - day + i, 50000 + i) for i in range(500)]
    write_history(db, old + recent)
    conn = open_for_writing(db)
    prune(conn, Limits(max_age=30 * day), NOW)
    ports = [row[0] for row in conn.execute("SELECT local_port FROM connections ORDER BY id")]
    conn.close()
    assert ports == [c.local_port for c in recent]


def test_retention_by_size_keeps_the_file_under_its_limit_newest_rows_first(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.db"
    write_history(db, [connection(NOW + i, 32768 + i % 28000) for i in range(120_000)])
    conn = open_for_writing(db)
    assert file_bytes(conn) > 12 << 20
    limit = 6 << 20
    deleted = prune(conn, Limits(max_size=limit), NOW + 200_000)
    kept = conn.execute("SELECT min(id), max(id), count(*) FROM connections").fetchone()
    conn.close()
    assert db.stat().st_size <= limit
    assert kept[1] == 120_000 and kept[2] == 120_000 - deleted  # the oldest went
    assert kept[0] == deleted + 1 and kept[2] > 30_000


def test_a_recorder_started_on_an_oversized_history_brings_it_under(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    write_history(db, [connection(NOW + i, 32768 + i % 28000) for i in range(100_000)])
    assert db.stat().st_size > 10 << 20
    # in a network namespace of its own where it may: the machine's other namespaces'
    # sockets, which a recorder in the host's would write too, are not this test's
    alone = ["unshare", "--net"] if netns_refusal() is None else []
    proc = subprocess.Popen(
        [*alone, *recorder_argv(str(db), 1.0, False, "--max-size", "4M")],
        stderr=subprocess.PIPE, text=True, env=cli_env(),
    )  # fmt: skip
    assert proc.stderr is not None
    while READY not in (line := proc.stderr.readline()):
        assert line, "the recorder ended"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert db.stat().st_size <= 4 << 20
    reader = HistoryReader.open(db)
    newest = reader.conn.execute("SELECT max(local_port) FROM connections").fetchone()
    reader.close()
    assert newest[0] is not None


def test_no_database_is_one_line_naming_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(HistoryRefused, match="no history database at"):
        HistoryReader.open(tmp_path / "absent.db")
    line = refused("history", tmp_path / "absent.db")
    assert f"no history database at {tmp_path / 'absent.db'}" in line
    assert not (tmp_path / "absent.db").exists()
