"""`portscope baseline save`, `diff` and `check --baseline` on real listeners, in a
network namespace where nothing else listens."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import needs_root, run_portscope
from history_rows import CURL, NGINX, write_history
from netns import needs_netns, run_in_netns
from portscope.history.records import ListenerEvent, Who

SCENARIO = Path(__file__).with_name("baseline_scenario.py")


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict:
    directory = tmp_path_factory.mktemp("baseline")
    return json.loads(run_in_netns(SCENARIO, str(directory)).stdout)


@needs_root
@needs_netns
@pytest.mark.root
class TestAgainstABaseline:
    def test_save_writes_the_listener_set(self, steps: dict) -> None:
        assert steps["save"]["exit"] == 0, steps["save"]
        assert steps["save"]["stdout"].startswith("saved 1 listeners to ")

    def test_nothing_new_is_ok(self, steps: dict) -> None:
        assert steps["nothing_new"]["exit"] == 0, steps["nothing_new"]
        first = steps["nothing_new"]["stdout"].splitlines()[0]
        assert first.startswith("PORTSCOPE OK - ") and "listeners as in the baseline" in first
        assert "new_listeners=0 missing_listeners=0" in first
        assert steps["diff_nothing"]["exit"] == 0
        assert steps["diff_nothing"]["stdout"].startswith("no listener changes since")

    def test_a_new_loopback_listener_is_a_warning_naming_it(self, steps: dict) -> None:
        done = steps["new_loopback"]
        assert done["exit"] == 1, done
        inside = f"in {steps['netns']}"
        where = f"tcp 127.0.0.1:{steps['loopback_port']} {inside} {steps['comm']} (loopback only)"
        first, *details = done["stdout"].splitlines()
        assert first.startswith(f"PORTSCOPE WARNING - new listener {where}, not in the baseline")
        assert f"'new {where}'=1" in first and "new_listeners=1" in first
        assert f"WARNING: new listener {where}, not in the baseline" in details

    def test_a_new_listener_on_all_interfaces_is_critical_naming_it(self, steps: dict) -> None:
        doc = json.loads(steps["new_exposed"]["stdout"])
        assert steps["new_exposed"]["exit"] == 2 and doc["status"] == "CRITICAL"
        exposed = {
            "proto": "tcp",
            "family": "ipv4",
            "address": "0.0.0.0",
            "port": steps["exposed_port"],
            "exposure": "all",
            "process": steps["comm"],
            "netns": steps["netns"],
            "place": None,
        }
        assert exposed in doc["baseline"]["new"] and len(doc["baseline"]["new"]) == 2
        text = steps["new_exposed_text"]["stdout"]
        inside = f"in {steps['netns']}"
        where = f"tcp 0.0.0.0:{steps['exposed_port']} {inside} {steps['comm']} (all interfaces)"
        assert text.startswith(f"PORTSCOPE CRITICAL - new listener {where}, not in the baseline")
        assert f"'new {where}'=1" in text.splitlines()[0]
        assert steps["diff_new"]["exit"] == 1
        assert f"+ {where}  new" in steps["diff_new"]["stdout"]

    def test_a_listener_gone_from_the_baseline_is_a_warning(self, steps: dict) -> None:
        done = steps["missing"]
        assert done["exit"] == 1, done
        inside = f"in {steps['netns']}"
        where = f"tcp 127.0.0.1:{steps['kept_port']} {inside} {steps['comm']} (loopback only)"
        assert f"listener {where} from the baseline is gone" in done["stdout"]
        assert "missing_listeners=1" in done["stdout"].splitlines()[0]


def test_a_file_that_is_no_baseline_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for content in ("", "{}", "[1, 2]", '{"schema": "portscope.baseline/1", "listeners": 3}'):
        path = tmp_path / "baseline.json"
        path.write_text(content)
        for command in (["check", "--baseline", str(path)], ["diff", "--baseline", str(path)]):
            done = run_portscope(*command, timeout=60)
            assert done.returncode == 2, (content, done.stderr)
            assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_diff_since_reads_what_appeared_and_went_from_the_history(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    now = time.time()
    hostile = Who(99, "ev|l\x1b[31m", "mallory")

    def event(at: float, change: str, port: int, owner: Who) -> ListenerEvent:
        return ListenerEvent(at, change, "tcp", "ipv4", "0.0.0.0", port, "all", owner)  # type: ignore[arg-type]

    write_history(
        db,
        events=[
            event(now - 7200, "appeared", 22, NGINX),
            event(now - 600, "appeared", 8080, CURL),
            event(now - 500, "gone", 9090, NGINX),
            event(now - 400, "appeared", 7070, hostile),
            event(now - 300, "gone", 7070, hostile),
        ],
        started=now - 8000,
    )
    done = run_portscope("diff", "--since", "1h", "--db", str(db), timeout=60)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("listener changes since ")
    assert any(
        line.startswith("+ tcp 0.0.0.0:8080 curl (all interfaces)  appeared") for line in lines
    )
    assert any(line.startswith("- tcp 0.0.0.0:9090 nginx (all interfaces)  gone") for line in lines)
    assert any("~ tcp 0.0.0.0:7070 ev|l\\x1b[31m (all interfaces)  came" in line for line in lines)
    quiet = run_portscope("diff", "--since", "1m", "--db", str(db), timeout=60)
    assert quiet.returncode == 0 and quiet.stdout.startswith("no listener changes since")
