"""`portscope snapshot` as a user runs it: table, JSON schema, CSV, bad input, failed polls."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import cli_env, needs_ipv6, run_portscope, run_with_tree, snapshot_json
from netns import needs_netns
from portscope import __version__
from sockets import SocketFarm

LISTENING_FIELDS = {
    "proto", "family", "address", "port", "pid", "process", "user", "container", "unit",
    "published",
}  # fmt: skip
CONNECTION_FIELDS = {
    "proto", "family", "local_address", "local_port", "remote_address", "remote_port",
    "state", "netns", "netns_inode", "pid", "process", "user", "container", "unit", "ephemeral",
    "bytes_sent", "bytes_received", "segments_sent", "segments_received", "retransmits",
    "rtt_ms", "rtt_var_ms", "min_rtt_ms", "delivery_rate", "busy_ms", "receiver_limited_ms",
    "sndbuf_limited_ms", "rx_rate", "tx_rate", "retransmit_rate", "flags", "traffic_unavailable",
}  # fmt: skip
CSV_FIELDS = CONNECTION_FIELDS - {"container"} | {
    "container_runtime", "container_id", "container_name", "container_image", "pod",
    "pod_namespace", "published",
}  # fmt: skip
"""The CSV spells the container object out in flat columns."""


def one_line_error(done: object, status: int) -> str:
    """The stderr of a refused command: exactly one line, no traceback, given status."""
    assert done.returncode == status, done  # type: ignore[attr-defined]
    lines = done.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("portscope: "), lines
    assert done.stdout == ""  # type: ignore[attr-defined]
    return lines[0]


def test_json_has_the_fixed_schema(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    (client, _server), *_ = farm.connect(listener)
    doc = snapshot_json()
    assert doc["schema"] == "portscope.snapshot/1"
    taken = datetime.fromisoformat(doc["taken_at"].replace("Z", "+00:00"))
    assert taken.utcoffset() == timezone.utc.utcoffset(None)
    assert doc["host"] == socket.gethostname()
    assert doc["privileged"] is (os.geteuid() == 0)
    rng = doc["ephemeral_range"]
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert (rng["low"], rng["high"]) == (low, high)
    assert rng["source"] == "/proc/sys/net/ipv4/ip_local_port_range"
    assert all(isinstance(r, int) or "-" in r for r in rng["reserved"])
    assert isinstance(doc["unattributed"], int)
    for record in doc["listening"]:
        assert record.keys() >= LISTENING_FIELDS
        assert "[" not in record["address"]
    for record in doc["connections"]:
        assert record.keys() >= CONNECTION_FIELDS
        assert isinstance(record["ephemeral"], bool)
    (mine,) = [r for r in doc["listening"] if (r["address"], r["port"]) == ("127.0.0.1", port)]
    assert (mine["proto"], mine["address"], mine["pid"]) == ("tcp", "127.0.0.1", os.getpid())
    client_port = client.getsockname()[1]
    (outgoing,) = [
        r
        for r in doc["connections"]
        if (r["local_port"], r["remote_address"], r["remote_port"])
        == (client_port, "127.0.0.1", port)
    ]
    assert outgoing["state"] == "ESTABLISHED" and outgoing["ephemeral"] is True
    assert (outgoing["remote_address"], outgoing["remote_port"]) == ("127.0.0.1", port)


def test_table_is_aligned_and_summarised(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    farm.udp_socket("127.0.0.1")
    done = run_portscope("snapshot", "--netns", "host")  # one namespace: no NETNS column
    assert done.returncode == 0, done.stderr
    header, *rows, summary = done.stdout.rstrip("\n").splitlines()
    assert header.split() == [
        "PROTO", "STATE", "LOCAL", "REMOTE", "PID", "PROCESS", "USER", "IN", "EPH"
    ]  # fmt: skip
    (row,) = [r for r in rows if r.split()[1:3] == ["LISTEN", f"127.0.0.1:{port}"]]
    for column in ("LOCAL", "REMOTE", "PID"):
        start = header.index(column)
        assert row[start - 2 : start] == "  " and row[start] != " ", (column, row)
    assert row.split()[:5] == ["tcp", "LISTEN", f"127.0.0.1:{port}", "*", str(os.getpid())]
    assert "listening" in summary and "ephemeral range" in summary


def cells(*endpoints: tuple[str, int]) -> tuple[str, ...]:
    """Endpoints as the CSV spells them."""
    return tuple(str(part) for endpoint in endpoints for part in endpoint[:2])


def test_csv_has_one_row_per_socket(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    pairs = farm.connect(listener, 3)
    expected = {(*cells(listener.getsockname()), "", "")}
    expected |= {cells(s.getsockname(), s.getpeername()) for pair in pairs for s in pair}
    done = run_portscope("snapshot", "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows and set(rows[0]) == CSV_FIELDS
    columns = ("local_address", "local_port", "remote_address", "remote_port")
    mine = [r for r in rows if tuple(r[c] for c in columns) in expected]
    assert sorted(r["state"] for r in mine) == ["ESTABLISHED"] * 6 + ["LISTEN"]
    assert {r["pid"] for r in mine} == {str(os.getpid())}


@needs_ipv6
def test_v6_addresses_are_plain_and_v4_mapped_readable(farm: SocketFarm) -> None:
    dual = farm.tcp_listener("::", v6only=False)
    port = dual.getsockname()[1]
    farm.connect(dual, 1, "127.0.0.1")
    doc = snapshot_json()
    (accepted,) = [
        r for r in doc["connections"] if r["local_port"] == port and r["pid"] == os.getpid()
    ]
    assert accepted["family"] == "ipv6"
    assert accepted["local_address"] == "::ffff:127.0.0.1"
    assert accepted["remote_address"] == "::ffff:127.0.0.1"
    table = run_portscope("snapshot").stdout
    assert f"[::ffff:127.0.0.1]:{port}" in table
    assert f"[::]:{port}" in table


def test_version_and_module_entry_point() -> None:
    done = run_portscope("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"portscope {__version__}")


@pytest.mark.parametrize(
    "argv",
    [
        ["snapshot", "--json", "--csv"],
        ["snapshot", "--bogus"],
        ["snapshot", "--source", "carrier-pigeon"],
        ["no-such-command"],
        ["--interval", "soon"],
    ],
)
def test_bad_input_is_one_line_and_status_2(argv: list[str]) -> None:
    one_line_error(run_portscope(*argv), 2)


def test_failed_poll_exits_nonzero_with_one_line(tmp_path: Path) -> None:
    """A procfs root with no socket tables is a failed poll, not an empty machine."""
    line = one_line_error(run_portscope("snapshot", "--proc-root", str(tmp_path)), 1)
    assert line == f"portscope: snapshot failed: OSError: no socket tables in {tmp_path}/net"
    doc_run = run_portscope("snapshot", "--json", "--proc-root", str(tmp_path / "missing"))
    assert "snapshot failed" in one_line_error(doc_run, 1)


def test_damaged_tables_are_skipped_and_reported(farm: SocketFarm, tmp_path: Path) -> None:
    """Garbage rows are skipped and counted; a table that cannot be read is a warning, not
    a failure."""
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    net = tmp_path / "net"
    net.mkdir()
    real = Path("/proc/net/tcp").read_text()
    garbage = "  99: ZZZZ:0050 00000000:0000 0A 0:0 00:0 0 0 0 1 0 garbage row with extra\n"
    (net / "tcp").write_text(real + garbage + "  98: truncated\n")
    (net / "tcp6").mkdir()
    done = run_portscope("snapshot", "--json", "--proc-root", str(tmp_path))
    assert done.returncode == 0, done.stderr
    first = len(real.splitlines()) + 1
    notes = [
        f"{net}/tcp: 2 malformed lines skipped (first: line {first})",
        f"{net}/tcp6: Is a directory",
    ]
    assert done.stderr.splitlines() == [f"portscope: warning: {note}" for note in notes]
    doc = json.loads(done.stdout)
    assert [r["port"] for r in doc["listening"] if r["port"] == port] == [port]
    assert doc["errors"] == notes


OTHER_PID_NAMESPACE = """
import json, os, socket, subprocess, sys, tempfile
root = tempfile.mkdtemp()
subprocess.run(["mount", "-t", "proc", "proc", root], check=True, timeout=10)
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
done = subprocess.run(
    [sys.executable, "-m", "portscope", "snapshot", "--json", "--proc-root", root],
    capture_output=True, text=True, timeout=60,
)
subprocess.run(["umount", root], check=True, timeout=10)
os.rmdir(root)
port = listener.getsockname()[1]
mine = [r for r in json.loads(done.stdout)["listening"] if r["port"] == port]
print(json.dumps({"status": done.returncode, "mine": mine, "pid": os.getpid()}))
"""


@pytest.mark.root
@needs_netns
def test_proc_root_of_another_pid_namespace_names_the_right_process() -> None:
    """With /proc left as the machine's and the pid namespace's own procfs mounted
    elsewhere, the pids under --proc-root differ from /proc's: names must be read from
    --proc-root too, or pid 1 there is blamed on the machine's pid 1."""
    argv = ["unshare", "--pid", "--fork", "--mount", "--propagation", "private", "--"]
    done = run_with_tree([*argv, sys.executable, "-c", OTHER_PID_NAMESPACE])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == 0 and report["pid"] == 1
    (listener,) = report["mine"]
    assert (listener["pid"], listener["user"]) == (1, "root")
    assert listener["process"].startswith("python"), "not the machine's pid 1"


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]])
@pytest.mark.parametrize("size", ["small", "large"])
def test_reader_gone_is_no_error(
    farm: SocketFarm, tmp_path: Path, fmt: list[str], size: str
) -> None:
    """`portscope snapshot | head -1` when the reader has already left: no error, for
    output that sits in stdout's buffer until exit (an empty table set) and for output
    written at once (hundreds of sockets). Buffered stdout, as most users have it."""
    if size == "small":
        (tmp_path / "net").mkdir()
        (tmp_path / "net" / "tcp").write_text(Path("/proc/net/tcp").read_text().splitlines()[0])
        fmt = [*fmt, "--proc-root", str(tmp_path)]
    else:
        farm.connect(farm.tcp_listener("127.0.0.1"), 200)
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "portscope", "snapshot", *fmt],
            stdout=writer,
            stderr=subprocess.PIPE,
            env=cli_env(PYTHONUNBUFFERED=""),
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (0, b"")


@pytest.mark.parametrize("value", ["nan", "0", "-1", "61", "fast", "1e400"])
def test_a_bad_dashboard_interval_is_one_line_and_exit_2(value: str) -> None:
    done = run_portscope("--interval", value)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "seconds from 0.25 to 60" in done.stderr


def test_output_file_is_written_whole_and_a_planted_symlink_is_not_followed(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    target = tmp_path / "export.json"
    target.symlink_to(victim)
    done = run_portscope("snapshot", "--json", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert victim.read_text() == "precious"
    assert not target.is_symlink()
    assert json.loads(target.read_text())["schema"] == "portscope.snapshot/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "victim"]


def test_an_unwritable_output_is_one_line_and_status_2(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.csv"
    line = one_line_error(run_portscope("snapshot", "--csv", "-o", str(target)), 2)
    assert line == f"portscope: cannot write '{target}': No such file or directory"


def test_a_snapshot_taken_in_process_leaves_garbage_collection_on(
    farm: SocketFarm, tmp_path: Path
) -> None:
    """The command pauses the cyclic collector while it works; a caller that runs it
    in its own process gets the collector back, and the same document as the CLI."""
    import gc

    from portscope.cli import main

    listener = farm.tcp_listener("127.0.0.1")
    out = tmp_path / "snap.json"
    assert gc.isenabled()
    assert main(["snapshot", "--json", "-o", str(out)]) == 0
    assert gc.isenabled()
    document = json.loads(out.read_text())
    assert listener.getsockname()[1] in {r["port"] for r in document["listening"]}
