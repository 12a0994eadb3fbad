"""A real `portscope record` for tests: its command line (as root or as nobody) and
the scenario that runs it against a workload in a fresh network namespace."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

TREE = Path(__file__).resolve().parent.parent
SCENARIO = Path(__file__).with_name("recorder_scenario.py")
NOBODY = 65534
AS_NOBODY = f"""
import encodings.ascii, encodings.idna, os, shutil, sys  # imported lazily by argparse, open()
import asyncio, concurrent.futures.thread, datetime, fcntl, json, queue, sqlite3, threading
import urllib.parse
import portscope.cli, portscope.cli.output, portscope.cli.record, portscope.collect
import portscope.collect.destroyed, portscope.history.database, portscope.history.lock
import portscope.history.retention, portscope.history.store, portscope.recorder.service
import portscope.report.snapshot
os.setgroups([])
os.setgid({NOBODY})
os.setuid({NOBODY})
assert os.geteuid() == {NOBODY}
sys.exit(portscope.cli.main(sys.argv[1:]))
"""


def recorder_argv(db: str, interval: float, as_nobody: bool = False, *more: str) -> list[str]:
    """`portscope record` on `db`, with `more` options; as nobody, started as root, which
    drops to uid 65534 once everything is imported (this interpreter may sit where
    nobody cannot read)."""
    start = [sys.executable, "-c", AS_NOBODY] if as_nobody else [sys.executable, "-m", "portscope"]
    return [*start, "record", "--db", db, "--interval", f"{interval:g}", *more]


def tree_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TREE / "tui"), env.get("PYTHONPATH")]))
    return env


def run_scenario(namespaces: list[str], timeout: float = 240, **spec: Any) -> dict[str, Any]:
    """recorder_scenario.py with `spec`, under `unshare` with `namespaces` (--net, ...)."""
    done = subprocess.run(
        ["unshare", *namespaces, sys.executable, str(SCENARIO), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=tree_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def rows(db: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()
