"""The recorder's figures (issue 15), printed as one table.

    python benchmarks/recorder.py [--rate 1000] [--seconds 60] [--rows 10000000] [--days 7]
        [--only load,query]

- `load` (root): in a fresh network namespace, `portscope record` (default interval)
  against a workload process that makes `--rate` short loopback connections a second
  (connect, a request, an answer, client closes first) for `--seconds`. The
  workload's own count against the history's rows; the recorder's CPU (utime+stime
  from /proc/PID/stat over the workload's run) as a share of one core; the
  database's growth per connection, extrapolated to a million.
- `query`: a history of `--rows` connections made with executemany (indexes built
  after), then `HistoryReader.recent(port=P)` for an ephemeral port (a few hundred
  rows) and for a busy destination port, `port_histories(P)` (the lookup card's
  History) in this process and in a fresh one, and `history --port P` end to end.
  Medians of `--repeat`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent / "tui"
sys.path[:0] = [str(HERE), str(TREE)]

from measure import cpu_seconds, load_average, run_timed  # noqa: E402

IN_NAMESPACE = "PORTSCOPE_RECORDER_BENCH_NETNS"
READY = "first poll recorded"
DAY = 86_400.0
EPHEMERAL = (32768, 60999)
DESTINATIONS = 50
OWNERS = 20


def tree_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TREE), env.get("PYTHONPATH")]))
    return env


def workload(port: int, rate: float, seconds: float) -> None:
    """The workload process: `rate` short connections a second to 127.0.0.1:`port`,
    paced; prints how many it made and the client ports."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(4096)
    print("ready", flush=True)
    made = 0
    started = time.monotonic()
    while (now := time.monotonic()) - started < seconds:
        due = int((now - started) * rate) - made
        for _ in range(due):
            client = socket.create_connection(("127.0.0.1", port))
            server, _ = listener.accept()
            client.sendall(b"GET")
            server.recv(16)
            server.sendall(b"200 OK")
            client.recv(16)
            client.close()
            server.close()
            made += 1
        time.sleep(0.002)
    print(json.dumps({"made": made, "seconds": time.monotonic() - started}), flush=True)


def load(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    """The `load` figures, run in a fresh network namespace (re-executing this script)."""
    if os.environ.get(IN_NAMESPACE) != "1":
        done = subprocess.run(
            ["unshare", "--net", sys.executable, __file__, "--only", "load",
             "--rate", str(args.rate), "--seconds", str(args.seconds), "--json"],
            capture_output=True, text=True, env={**tree_env(), IN_NAMESPACE: "1"}, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"load figures failed: {done.stderr}")
        return [tuple(row) for row in json.loads(done.stdout)]  # type: ignore[misc]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    Path("/proc/sys/net/ipv4/ip_local_port_range").write_text("1024 65000")
    directory = Path(tempfile.mkdtemp(prefix="portscope-bench-"))
    db = directory / "history.db"
    recorder = subprocess.Popen(
        [sys.executable, "-m", "portscope", "record", "--db", str(db)],
        stderr=subprocess.PIPE, text=True, env=tree_env(),
    )  # fmt: skip
    assert recorder.stderr is not None
    while READY not in (line := recorder.stderr.readline()):
        if not line:
            raise SystemExit("the recorder ended")
    port = 8080
    work = subprocess.Popen(
        [sys.executable, "-c",
         f"import sys; sys.path.insert(0, {str(HERE)!r}); import recorder; "
         f"recorder.workload({port}, {args.rate}, {args.seconds})"],
        stdout=subprocess.PIPE, text=True, env=tree_env(),
    )  # fmt: skip
    assert work.stdout is not None
    work.stdout.readline()
    size_before = db.stat().st_size
    cpu_before, wall_before = cpu_seconds(recorder.pid), time.monotonic()
    made = json.loads(work.stdout.readline())
    cpu = cpu_seconds(recorder.pid) - cpu_before
    wall = time.monotonic() - wall_before
    work.wait()
    time.sleep(6)  # the last polls, the writer's grace and batch
    recorder.terminate()
    _out, said = recorder.communicate(timeout=120)
    import sqlite3

    conn = sqlite3.connect(db)
    recorded = conn.execute(
        "SELECT count(*) FROM connections WHERE remote_port = ? AND accepted = 0", (port,)
    ).fetchone()[0]
    rows = conn.execute("SELECT count(*) FROM connections").fetchone()[0]
    conn.close()
    growth = db.stat().st_size - size_before
    shutil.rmtree(directory)
    per_million = growth / max(recorded, 1) * 1e6 / 1e6
    rate = made["made"] / made["seconds"]
    return [
        (f"connections made ({rate:.0f}/s for {made['seconds']:.0f} s)",
         f"{made['made']:,}", "-", "-"),
        ("  recorded (rows for them)", f"{recorded:,} ({rows - recorded} other rows)",
         "all", "met" if recorded == made["made"] else "MISSED"),
        ("  the kernel dropped socket-end events (the recorder said)",
         "yes" if "the kernel dropped socket-end events" in said else "no", "no", "-"),
        ("recorder CPU over the workload", f"{100 * cpu / wall:.1f} % of a core", "≤ 15 %",
         "met" if 100 * cpu / wall <= 15 else "MISSED"),
        ("database growth per million connections",
         f"{per_million:.0f} MB ({growth / max(recorded, 1):.0f} B each)", "≤ 150 MB",
         "met" if per_million <= 150 else "MISSED"),
        *(("  the recorder said", line.removeprefix("portscope record: "), "-", "-")
          for line in said.splitlines()[2:-1]),
    ]  # fmt: skip


def generate(db: Path, count: int, now: float, days: float) -> dict[str, float]:
    """A history of `count` connections over the `days` before `now`, in id order of
    their ends: outgoing ones from ephemeral ports to DESTINATIONS destinations, by
    OWNERS processes. Written with executemany; the indexes and the hourly counts made
    afterwards (timed: what migrating a schema 1 history of this size costs is about
    two of the indexes and the counts)."""
    from portscope.history.database import open_for_writing
    from portscope.history.schema import CONNECTION_INDEXES, ROLLUP_BACKFILL, ROLLUP_TRIGGER

    conn = open_for_writing(db)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("DROP TRIGGER connections_rollup")
    for statement in CONNECTION_INDEXES:
        conn.execute(f"DROP INDEX {statement.split()[2]}")
    conn.execute(
        "INSERT INTO runs (started, last_write, interval, kernel_events) VALUES (?, ?, 2, 1)",
        (round((now - (days + 1) * DAY) * 1000), round(now * 1000)),
    )
    conn.executemany(
        "INSERT INTO owners (id, pid, process, user) VALUES (?, ?, ?, ?)",
        [(i + 1, 1000 + i, f"worker{i}", "app") for i in range(OWNERS)],
    )
    low, high = EPHEMERAL
    span = high - low + 1
    start = (now - days * DAY) * 1000
    step = days * DAY * 1000 / count
    destinations = [
        (f"10.0.{i // 250}.{i % 250 + 1}", 5432 if i < 5 else 443 + i) for i in range(DESTINATIONS)
    ]
    rng = random.Random(15)

    def rows():  # type: ignore[no-untyped-def]
        for i in range(count):
            address, port = destinations[rng.randrange(DESTINATIONS)]
            yield (
                round(start + i * step), "kernel", "tcp", "ipv4", "192.0.2.10", low + i % span,
                address, port, 0, None, "CLOSE", rng.randrange(1, 900), "under",
                rng.randrange(100, 5000), rng.randrange(100, 50000), None,
                1 + rng.randrange(OWNERS), "listener" if i % 7 == 0 else None, None, 1,
            )  # fmt: skip

    conn.execute("BEGIN")
    conn.executemany(
        """INSERT INTO connections (closed, ended, proto, family, local_address, local_port,
        remote_address, remote_port, accepted, opened, state, lifetime, bound, sent,
        received, uid, owner, owner_from, peer, run)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        rows(),
    )
    conn.execute("COMMIT")
    timed = {}
    for statement in CONNECTION_INDEXES:
        started = time.perf_counter()
        conn.execute(statement)
        timed[statement.split()[2]] = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute(ROLLUP_BACKFILL)
    hours = time.perf_counter() - started
    conn.execute(ROLLUP_TRIGGER)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    hour_rows = conn.execute("SELECT count(*) FROM connection_hours").fetchone()[0]
    conn.close()
    migration = timed["connections_local_port"] + timed["connections_remote_port"] + hours
    return {"ephemeral_port": low + 1234, "busy_port": 5432, "migration": migration,
            "hours": hours, "hour_rows": hour_rows}  # fmt: skip


FRESH_HISTORY_LINE = """
import sys, time
from pathlib import Path
import portscope.cli.lookup, portscope.collect, portscope.knowledge, portscope.report.lookup
started = time.perf_counter()
from portscope.history.query import port_histories
port_histories(Path(sys.argv[1]), [int(sys.argv[2])])
print(time.perf_counter() - started)
"""
"""What `portscope lookup` adds for its History line, in a process of its own that has
imported what a lookup imports anyway: the history's own imports, the open, the query."""


def median_ms(call, repeat: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def query(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    from portscope.history.query import HistoryReader, port_histories
    from portscope.history.records import HistoryFilter

    directory = Path(tempfile.mkdtemp(prefix="portscope-bench-"))
    os.chmod(directory, 0o700)
    db = directory / "history.db"
    now = time.time()
    started = time.perf_counter()
    ports = generate(db, args.rows, now, args.days)
    made = time.perf_counter() - started
    size = db.stat().st_size
    reader = HistoryReader.open(db)
    day = HistoryFilter(now - DAY, now + 60)
    figures = []
    for name, port in (("an ephemeral port", int(ports["ephemeral_port"])),
                       ("a busy destination port (5432)", int(ports["busy_port"]))):  # fmt: skip
        page = reader.recent(HistoryFilter(day.since, day.until, port=port), 50)
        spent = median_ms(
            lambda port=port: HistoryReader.open(db).recent(
                HistoryFilter(now - DAY, now + 60, port=port), 50
            ),
            args.repeat,
        )
        label = f"history --port P, {name}: {page.total:,} rows in 24 h (open + query)"
        verdict = "met" if spent <= 50 else "MISSED"
        figures.append((label, f"{spent:.1f} ms", "≤ 50 ms", verdict))
    reader.close()
    for name, port in (("an ephemeral port", int(ports["ephemeral_port"])),
                       ("the busy port (5432)", int(ports["busy_port"]))):  # fmt: skip
        card = median_ms(lambda port=port: port_histories(db, [port], now=now), args.repeat)
        verdict = "met" if card <= 20 else "MISSED"
        figures.append((f"lookup History line, {name}: port_histories(P) (open + last_use)",
                        f"{card:.1f} ms", "≤ 20 ms", verdict))  # fmt: skip
    port = int(ports["ephemeral_port"])
    env = tree_env()
    fresh = statistics.median(float(subprocess.run(
        [sys.executable, "-c", FRESH_HISTORY_LINE, str(db), str(port)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout) for _ in range(args.repeat)) * 1000  # fmt: skip
    figures.append(("  the same in a fresh `lookup` process: the history's imports included",
                    f"{fresh:.1f} ms", "≤ 20 ms", "met" if fresh <= 20 else "MISSED"))  # fmt: skip
    python = [sys.executable, "-m", "portscope"]
    cli = [run_timed([*python, "history", "--port", str(port), "--db", str(db)], env)
           for _ in range(args.repeat)]  # fmt: skip
    figures += [
        ("`portscope history --port P` end to end (interpreter start included)",
         f"{statistics.median(cli) * 1000:.0f} ms", "-", "-"),
        (f"the {args.rows:,}-row database over {args.days:g} days",
         f"{size / 1e6:.0f} MB, made in {made:.0f} s", "-", "-"),
        ("  its hourly counts (connection_hours)",
         f"{ports['hour_rows']:,.0f} rows, counted in {ports['hours']:.0f} s", "-", "-"),
        ("  migrating a schema 1 history of this size (two indexes again, the counts)",
         f"~{ports['migration']:.0f} s, once", "-", "-"),
    ]  # fmt: skip
    shutil.rmtree(directory)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=7.0, help="the span the rows cover")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--only", default="load,query")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    wanted = args.only.split(",")
    figures = []
    if "load" in wanted:
        figures += load(args)
    if args.json:
        print(json.dumps(figures))
        return
    if "query" in wanted:
        figures += query(args)
    print(f"load average before: {load_average()}")
    print("| figure | portscope | target | verdict |")
    print("|---|---|---|---|")
    for row in figures:
        print("| " + " | ".join(row) + " |")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
