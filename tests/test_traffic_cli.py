"""Traffic in the scripts, as a user runs them: `snapshot --json`/`--csv` counters per
TCP connection and rates with `--interval`, and `check`'s retransmission warning."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import threading
from subprocess import CompletedProcess

import pytest

from conftest import run_portscope, snapshot_json
from sockets import SocketFarm, pour
from test_snapshot_cli import one_line_error
from traffic_support import ends, settle

SENT, ANSWERED = 300_000, 4_000
NO_UDP_COUNTERS = "UDP: the kernel keeps no per-socket byte counters"


def run_while_pouring(
    sender: socket.socket, receiver: socket.socket, *args: str
) -> CompletedProcess[str]:
    """`portscope ARGS` run while `sender` keeps pouring data into `receiver`."""
    moving, stop = threading.Event(), threading.Event()

    def keep_pouring() -> None:
        while not stop.is_set():
            pour(sender, receiver, 200_000)
            moving.set()

    writer = threading.Thread(target=keep_pouring)
    writer.start()
    try:
        assert moving.wait(10)
        return run_portscope(*args)
    finally:
        stop.set()
        writer.join()


OURS = os.stat("/proc/self/ns/net").st_ino
"""Our network namespace: another can hold a socket with the same two ends."""


def record_of(doc: dict, sock: object) -> dict:
    local_address, local_port, remote_address, remote_port = ends(sock)  # type: ignore[arg-type]
    (found,) = [
        r
        for r in doc["connections"]
        if (r["local_address"], r["local_port"], r["remote_address"], r["remote_port"])
        == (local_address, local_port, remote_address, remote_port)
        and r["netns_inode"] == OURS
    ]
    return found


def test_json_counts_each_tcp_connections_bytes_and_says_why_udp_has_none(
    farm: SocketFarm,
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    pour(client, server, SENT)
    pour(server, client, ANSWERED)
    settle(client, server)
    udp = farm.udp_socket("127.0.0.1")
    udp.connect(farm.udp_socket("127.0.0.1").getsockname())
    doc = snapshot_json()
    opened, accepted = record_of(doc, client), record_of(doc, server)
    assert (opened["bytes_sent"], opened["bytes_received"]) == (SENT + 1, ANSWERED)
    assert (accepted["bytes_sent"], accepted["bytes_received"]) == (ANSWERED, SENT)
    for record in (opened, accepted):
        assert record["traffic_unavailable"] is None and record["flags"] == []
        assert isinstance(record["rtt_ms"], float) and record["segments_sent"] > 0
        assert (record["rx_rate"], record["tx_rate"], record["retransmit_rate"]) == (None,) * 3
    (datagrams,) = [r for r in doc["connections"] if r["local_port"] == udp.getsockname()[1]]
    assert datagrams["traffic_unavailable"] == NO_UDP_COUNTERS
    assert datagrams["bytes_sent"] is None and datagrams["rtt_ms"] is None
    traffic = doc["traffic"]
    assert traffic["interval"] is None and traffic["unavailable"] is None
    (mine,) = [p for p in traffic["processes"] if p["pid"] == os.getpid()]
    assert mine["connections"] >= 2 and mine["bytes_sent"] >= SENT + ANSWERED + 1
    assert mine["rx_rate"] is None


def test_interval_polls_twice_and_gives_rates(farm: SocketFarm) -> None:
    """Data moving while the command polls: the sender has a send rate and the receiver
    a receive rate; an idle connection has a rate of 0, not null."""
    listener = farm.tcp_listener("127.0.0.1")
    (busy, busy_peer), (idle, _idle_peer) = farm.connect(listener, 2)
    done = run_while_pouring(busy, busy_peer, "snapshot", "--json", "--interval", "1")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["traffic"]["interval"] >= 1
    assert record_of(doc, busy)["tx_rate"] > 0 and record_of(doc, busy_peer)["rx_rate"] > 0
    assert record_of(doc, idle)["tx_rate"] == 0.0 and record_of(doc, idle)["rx_rate"] == 0.0
    (mine,) = [p for p in doc["traffic"]["processes"] if p["pid"] == os.getpid()]
    assert mine["tx_rate"] > 0 and doc["traffic"]["total"]["tx_rate"] >= mine["tx_rate"]


def test_csv_carries_the_same_columns(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    pour(client, server, SENT)
    settle(client)
    done = run_portscope("snapshot", "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    local, port, *_ = ends(client)
    (row,) = [
        r
        for r in rows
        if (r["local_address"], r["local_port"], r["netns_inode"]) == (local, str(port), str(OURS))
    ]
    assert (row["bytes_sent"], row["bytes_received"], row["flags"]) == (str(SENT + 1), "0", "")
    assert row["traffic_unavailable"] == "" and row["rx_rate"] == ""
    (listening,) = [
        r
        for r in rows
        if r["state"] == "LISTEN"
        and (r["local_port"], r["netns_inode"]) == (str(listener.getsockname()[1]), str(OURS))
    ]
    assert listening["traffic_unavailable"] == "a listener moves no data"


def test_procfs_has_no_counters_and_says_so(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, _server),) = farm.connect(listener)
    doc = snapshot_json("--source", "procfs")
    reason = "the procfs source has no per-connection counters"
    assert record_of(doc, client)["traffic_unavailable"] == reason
    assert record_of(doc, client)["bytes_sent"] is None
    assert doc["traffic"]["unavailable"] == reason and doc["traffic"]["processes"] == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--retransmit-warning", "1"], "need --interval"),
        (["--retransmit-critical", "1", "--interval", "0"], "need --interval"),
        (["--retransmit-warning", "5", "--retransmit-critical", "1", "--interval", "1"],
         "must not be above"),
        (["--retransmit-warning", "0", "--interval", "1"], "above 0 and at most 100"),
    ],
)  # fmt: skip
def test_check_refuses_a_retransmission_limit_it_cannot_judge(args: list[str], says: str) -> None:
    assert says in one_line_error(run_portscope("check", *args), 2)


def test_snapshot_refuses_a_bad_interval() -> None:
    assert "a number of seconds from 0 to 3600" in one_line_error(
        run_portscope("snapshot", "--json", "--interval", "-1"), 2
    )


def test_check_judges_retransmissions_only_when_asked(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener)
    plain = run_portscope("check")
    assert "max_retransmit" not in plain.stdout
    asked = run_portscope("check", "--json", "--interval", "0.5", "--retransmit-warning", "50")
    record = json.loads(asked.stdout)
    assert "max_retransmit=" in record["perfdata"] and ";50;;0;100" in record["perfdata"]
    assert isinstance(record["retransmits"], list)
    for found in record["retransmits"]:
        assert found["percent"] > 0 and found["interval"] >= 0.5


def test_no_traffic_asks_for_no_counters_and_says_so(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, _server),) = farm.connect(listener)
    doc = snapshot_json("--no-traffic")
    record = record_of(doc, client)
    assert record["traffic_unavailable"] == "tcp_info was not asked for"
    assert record["bytes_sent"] is None and record["flags"] == []
    assert doc["traffic"]["unavailable"] == "tcp_info was not asked for"


def test_a_filter_selects_the_sockets_of_both_polls_and_keeps_their_rates(
    farm: SocketFarm,
) -> None:
    """`--filter` with `--interval`: only the selected connection is listed and summed,
    and it keeps its counters and rates (the filtered polls keep their tcp_info)."""
    listener = farm.tcp_listener("127.0.0.1")
    (busy, busy_peer), (idle, _idle_peer) = farm.connect(listener, 2)
    port = busy.getsockname()[1]
    # a local port is lent again to another destination, and in another namespace
    chosen = f"sport = :{port} and dport = :{listener.getsockname()[1]}"
    done = run_while_pouring(
        busy, busy_peer, "snapshot", "--json", "--interval", "1", "--netns", "host",
        "--filter", chosen,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    (only,) = doc["connections"]
    assert only == record_of(doc, busy)
    assert only["bytes_sent"] > 0 and only["tx_rate"] > 0
    (mine,) = doc["traffic"]["processes"]
    assert mine["pid"] == os.getpid() and mine["connections"] == 1
    assert doc["traffic"]["total"]["tx_rate"] == only["tx_rate"]
    assert idle.getsockname()[1] not in {r["local_port"] for r in doc["connections"]}
