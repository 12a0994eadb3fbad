"""A real `portscope record`, run in the host's network namespace, against short
loopback connections made INSIDE `ip netns` namespaces: one there before it started
and one made after. Each connection ends far within a poll, so only the kernel's
socket-end broadcast of that namespace (a feed the recorder made inside it) can tell
of it: every one must be in the history, named by its namespace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import cli_env, needs_root, run_portscope
from netns import needs_netns
from recording import recorder_argv, tree_env

pytestmark = [needs_root, needs_netns, pytest.mark.root]
WORKLOAD = Path(__file__).with_name("netns_workload.py")
READY = "first poll recorded"
STARTUP = 90.0
COUNT = 300
PORT = 18080
"""Both namespaces' listeners take this port: two listeners, not one."""


class Lines:
    """A process's stderr, read by a thread, so a test can wait for a line with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.seen.append(line)

    def wait_for(self, part: str) -> None:
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if any(part in line for line in self.seen):
                return
            time.sleep(0.1)
        raise AssertionError(f"no {part!r} within {STARTUP} s: {''.join(self.seen)}")


@pytest.fixture
def make_netns() -> Iterator[Callable[[str], str]]:
    """`make(label)`: a new `ip netns` namespace with its loopback up, deleted after."""
    made: list[str] = []

    def make(label: str) -> str:
        name = f"psrec-{label}-{os.getpid()}"
        subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
        made.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=30)
        return name

    yield make
    for name in made:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


def workload(name: str) -> dict:
    spec = {"port": PORT, "count": COUNT, "settle": 2.5}
    done = subprocess.run(
        ["ip", "netns", "exec", name, sys.executable, str(WORKLOAD), json.dumps(spec)],
        capture_output=True, text=True, timeout=120, env=cli_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def history(db: Path, *args: str) -> dict:
    done = run_portscope("history", "--db", str(db), "--json", "--limit", "100000", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_short_connection_inside_ip_netns_namespaces_is_recorded_with_its_name(
    tmp_path: Path, make_netns: Callable[[str], str]
) -> None:
    db = tmp_path / "history.db"
    before = make_netns("before")
    proc = subprocess.Popen(
        recorder_argv(str(db), 1.0), stderr=subprocess.PIPE, text=True, env=tree_env()
    )
    try:
        lines = Lines(proc)
        lines.wait_for(READY)
        lines.wait_for(f"hearing socket ends in network namespace {before} too")
        after = make_netns("after")  # found by a later discovery: it gets a feed too
        lines.wait_for(f"hearing socket ends in network namespace {after} too")
        results = {name: workload(name) for name in (before, after)}
        time.sleep(3.0)  # the grace and the last batch: SIGTERM writes them anyway
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, "".join(lines.seen)
    for name, result in results.items():
        inode = os.stat(f"/run/netns/{name}").st_ino
        doc = history(db, "--netns", name, "--port", str(PORT))
        ours = [c for c in doc["connections"] if c["remote_port"] == PORT]
        assert len(ours) == COUNT, name  # each once: its two ends are one row
        assert sorted(c["local_port"] for c in ours) == sorted(result["ports"])
        assert {(c["netns"], c["netns_name"]) for c in ours} == {(inode, name)}
        assert {c["ended"] for c in ours} == {"kernel"}
        # no poll saw them; the listener a poll saw in that namespace names the peer
        assert {c["peer"]["process"] for c in ours} == {result["comm"]}
        changes = [(e["change"], e["netns_name"]) for e in doc["listener_events"]]
        assert sorted(changes) == [("appeared", name), ("gone", name)]
        by_inode = history(db, "--netns", f"netns:{inode}", "--port", str(PORT))
        assert len([c for c in by_inode["connections"] if c["remote_port"] == PORT]) == COUNT
    every = history(db, "--port", str(PORT))
    listeners = [e for e in every["listener_events"] if e["change"] == "appeared"]
    assert sorted(e["netns_name"] for e in listeners) == sorted(results)
