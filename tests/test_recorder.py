"""A real `portscope record` against real loopback connections, in a network namespace
of its own: what the history holds is counted against what the workload did."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import cli_env, needs_root, run_portscope
from netns import needs_netns
from recording import NOBODY, recorder_argv, rows, run_scenario
from sockets import SocketFarm

pytestmark = [needs_root, needs_netns, pytest.mark.root]
NET = ["--net"]
READY = "first poll recorded"


def dialled(result: dict, port_list: str) -> list[dict]:
    """The rows of the workload's connections: the end that dialled its listener."""
    wanted = set(result[port_list])
    return [
        r
        for r in result["rows"]
        if r["remote_port"] == result["listener_port"] and r["local_port"] in wanted
    ]


def history_line(db: Path, port: int) -> str:
    """The History section of `portscope lookup PORT` on `db`, as one line."""
    done = run_portscope("lookup", str(port), "--offline", "--db", str(db), timeout=60)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    return text.split(" History ", 1)[1].split(" Can I bind?", 1)[0]


def test_as_root_every_connection_shorter_than_a_poll_is_recorded_once(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    result = run_scenario(NET, db=str(db), interval=0.5, short=400, held=3)
    assert result["exit"] == 0, result["stderr"]
    assert result["runs"] == [[1, None, 0]]
    short = dialled(result, "short")
    assert sorted(r["local_port"] for r in short) == sorted(result["short"])
    assert len(short) == 400  # each once: its two ends are one row
    assert all(r["ended"] == "kernel" and not r["accepted"] for r in short)
    # the kernel's final counts: "ping" acknowledged with the SYN and FIN (one each, as
    # tcpi_bytes_acked counts them), "pong!" received with the peer's FIN
    assert {(r["sent"], r["received"]) for r in short} == {(6, 6)}
    # no poll saw them, so no process; the listener's is named as the peer
    assert {r["peer"] for r in short} == {result["comm"]}
    # unseen by any poll, a lifetime is a bound from above; one a poll caught in flight
    # (a few ms each, against a poll every 0.5 s: now and then) is timed from that poll
    timed = [r for r in short if r["lifetime"] is not None]
    assert all(r["bound"] == ("under" if r["opened"] is None else "at least") for r in timed)
    assert sum(r["opened"] is not None for r in short) < len(short) / 10
    accepted_ends = [r for r in result["rows"] if r["local_port"] == result["listener_port"]]
    assert accepted_ends == []
    held = dialled(result, "held")
    assert sorted(r["local_port"] for r in held) == sorted(result["held"])
    assert {(r["pid"], r["owner_from"], r["bound"]) for r in held} == {
        (result["pid"], "socket", "at least")
    }
    assert all(r["opened"] is not None and r["lifetime"] >= 1000 for r in held)
    port, listener = result["short"][-1], result["listener_port"]
    line = history_line(db, port)
    assert line.startswith(f"{port}: last borrowed ")
    assert f"by ? → 127.0.0.1:{listener} ({result['comm']}) for < " in line
    assert line.split("; ")[1].startswith("1 time in 24 h")
    assert f"; {400 + 3} times in 24 h" in history_line(db, listener)


def test_connections_to_a_listener_no_poll_has_seen_yet_are_recorded_from_the_dialling_end(
    tmp_path: Path,
) -> None:
    """Right after a listener appears, before a poll has seen it, neither end of a local
    connection looks accepted: the end on an ephemeral port is the one that dialled."""
    result = run_scenario(
        NET, db=str(tmp_path / "history.db"), interval=2.0, short=300, known_listener=False,
        server_first=True,  # so the accepted end is the first to end
    )  # fmt: skip
    assert result["exit"] == 0, result["stderr"]
    short = dialled(result, "short")
    assert sorted(r["local_port"] for r in short) == sorted(result["short"])
    assert [r for r in result["rows"] if r["local_port"] == result["listener_port"]] == []


def test_connections_that_reuse_a_4_tuple_at_once_are_each_recorded(tmp_path: Path) -> None:
    """The kernel reuses a 4-tuple as soon as it is free (a reset, or tcp_tw_reuse): two
    ends on one 4-tuple within the writer's grace are two connections, not one."""
    result = run_scenario(NET, db=str(tmp_path / "history.db"), interval=0.5, reused=20)
    assert result["exit"] == 0, result["stderr"]
    accepted = [
        r
        for r in result["rows"]
        if (r["local_port"], r["remote_port"]) == (result["listener_port"], result["reused_port"])
    ]
    assert len(accepted) == 20
    assert {(r["accepted"], r["ended"], r["pid"], r["owner_from"]) for r in accepted} == {
        (1, "kernel", result["pid"], "listener")
    }


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory right under /tmp (pytest's own are root's, 0700: nobody could not
    reach into them), removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="portscope-recorder-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def nobody_directory(scratch: Path) -> Path:
    """A directory nobody owns and may write."""
    os.chown(scratch, NOBODY, NOBODY)
    return scratch


def test_as_nobody_the_kernel_still_reports_every_end_but_names_no_process(
    scratch: Path,
) -> None:
    """sock_diag lets an unprivileged process join its destroy groups: every end is
    there, and, root's processes being hidden from nobody, no process is named."""
    db = nobody_directory(scratch) / "history.db"
    result = run_scenario(NET, db=str(db), interval=0.5, as_nobody=True, short=200, held=3)
    assert result["exit"] == 0, result["stderr"]
    assert result["runs"] == [[1, None, 0]]
    short = dialled(result, "short")
    assert sorted(r["local_port"] for r in short) == sorted(result["short"])
    assert {(r["ended"], r["process"], r["peer"]) for r in short} == {("kernel", None, None)}
    held = dialled(result, "held")
    assert sorted(r["local_port"] for r in held) == sorted(result["held"])
    assert all(r["uid"] == 0 and r["process"] is None for r in held)  # root's, not ours to see


def test_polls_only_the_history_holds_what_the_polls_saw(scratch: Path) -> None:
    db = nobody_directory(scratch) / "history.db"
    result = run_scenario(
        NET, db=str(db), interval=0.5, as_nobody=True, short=100, reset=100, held=3,
        options=["--polls-only"],
    )  # fmt: skip
    assert result["exit"] == 0, result["stderr"]
    assert "connections shorter than a poll are missed" in result["stderr"]
    assert result["runs"] == [[0, "--polls-only", 0]]
    # closed client-first, each left a TIME_WAIT remnant that the next poll saw
    short = dialled(result, "short")
    assert sorted(r["local_port"] for r in short) == sorted(result["short"])
    assert {(r["state"], r["ended"], r["process"]) for r in short} == {("TIME_WAIT", "poll", None)}
    # reset ones leave nothing behind: there are only those a poll caught alive
    reset = dialled(result, "reset")
    assert all(r["opened"] is not None for r in reset)
    assert len(reset) < len(result["reset"])
    held = dialled(result, "held")
    assert sorted(r["local_port"] for r in held) == sorted(result["held"])
    assert all(r["opened"] is not None and r["bound"] == "at least" for r in held)


def test_kill_9_while_writing_keeps_every_earlier_row_and_a_sound_file(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    result = run_scenario(NET, db=str(db), interval=0.5, kill=300)
    assert result["exit"] == -signal.SIGKILL
    assert result["integrity"] == "ok"
    before = [tuple(row) for row in result["before"]]
    after = {(r["id"], r["local_port"], r["remote_port"], r["closed"]) for r in result["rows"]}
    assert before and set(before) <= after
    done = run_portscope("history", "--db", str(db), "--json", timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_full_disk_drops_what_it_must_says_so_and_recovers(scratch: Path) -> None:
    where = scratch
    namespaces = ["--net", "--mount", "--propagation", "private"]
    result = run_scenario(
        namespaces,
        db=str(where / "history.db"),
        interval=0.5,
        short=200,
        tmpfs=[str(where), "16m"],
        fill=str(where / "filler"),
    )
    assert result["exit"] == 0, result["stderr"]
    assert "cannot write" in result["stderr"] and "dropped" in result["stderr"]
    assert "again:" in result["stderr"], result["stderr"]
    assert result["integrity"] == "ok"
    recorded = {r["local_port"] for r in dialled(result, "short") + dialled(result, "after")}
    assert set(result["short"]) <= recorded  # from before the disk filled
    after = {r["local_port"] for r in dialled(result, "after")}
    assert after == set(result["after"])  # all of them, once it had room again
    ((_kernel, _note, dropped),) = result["runs"]
    assert dropped > 0


def test_a_second_recorder_on_the_same_file_says_so_and_exits_2(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    first = subprocess.Popen(
        recorder_argv(str(db), 1.0), stderr=subprocess.PIPE, text=True, env=cli_env()
    )
    try:
        assert first.stderr is not None
        while READY not in (line := first.stderr.readline()):
            assert line, "the first recorder ended"
        second = run_portscope("record", "--db", str(db), timeout=60)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1
        assert f"another recorder (pid {first.pid}) is writing {db}" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0
    assert rows(db, "SELECT count(*) FROM runs") == [(1,)]


def test_the_unit_runs_this_recorder_as_a_service(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    done = run_portscope("record", "--db", str(db), "--print-systemd-unit", timeout=30)
    assert done.returncode == 0, done.stderr
    unit = done.stdout
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert exec_start.split("=", 1)[1].split()[:4] == [sys.executable, "-m", "portscope", "record"]
    assert f"--db {db}" in exec_start
    assert f"ReadWritePaths={tmp_path}" in unit and "RestartPreventExitStatus=2" in unit
    assert "PrivateTmp" not in unit  # it would hide a database under /tmp from the service
    assert not db.exists()  # printing the unit records nothing
    system = run_portscope("record", "--print-systemd-unit", timeout=30).stdout
    assert "--db /var/lib/portscope/history.db" in system and "PrivateTmp=yes" in system
    assert "ReadWritePaths" not in system  # its state directory is writable already


def record_for_a_while(db: Path, polls: float = 4) -> None:
    """One recorder run on `db`: until its first poll is written and a few more, then
    SIGTERM; it must end cleanly."""
    proc = subprocess.Popen(recorder_argv(str(db), 0.5), stderr=subprocess.PIPE, text=True,
                            env=cli_env())  # fmt: skip
    assert proc.stderr is not None
    while READY not in (line := proc.stderr.readline()):
        assert line, "the recorder ended"
    time.sleep(polls * 0.5)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def test_a_restarted_recorder_keeps_first_sight_and_notes_what_changed_meanwhile(
    tmp_path: Path, farm: SocketFarm
) -> None:
    db = tmp_path / "history.db"
    kept_listener = farm.tcp_listener("127.0.0.1")
    leaving = farm.tcp_listener("127.0.0.1")
    (kept, _), (gone, gone_server) = farm.connect(kept_listener, 2)
    kept_port, gone_port = kept.getsockname()[1], gone.getsockname()[1]
    record_for_a_while(db)
    first_run = rows(db, "SELECT started FROM runs")[0][0]
    for sock in (gone, gone_server):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        farm.release(sock)
    leaving_port = leaving.getsockname()[1]
    farm.release(leaving)
    arriving = farm.tcp_listener("127.0.0.1")
    record_for_a_while(db)
    assert rows(db, "SELECT ended, accepted FROM connections WHERE local_port = ?", gone_port) == [
        ("unseen", 0)
    ]
    (opened,) = rows(db, "SELECT opened FROM open_connections WHERE local_port = ?", kept_port)
    assert opened[0] < rows(db, "SELECT max(started) FROM runs")[0][0]
    assert opened[0] >= first_run
    changes = rows(
        db,
        "SELECT change, while_stopped, run FROM listener_events WHERE port = ? ORDER BY id",
        leaving_port,
    )
    assert changes == [("appeared", 1, 1), ("gone", 1, 2)]
    assert rows(
        db,
        "SELECT change, while_stopped, run FROM listener_events WHERE port = ?",
        arriving.getsockname()[1],
    ) == [("appeared", 1, 2)]
