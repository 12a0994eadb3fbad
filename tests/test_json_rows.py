"""The snapshot JSON writes its connection rows itself; they must be exactly what
json.dumps would have written for the same records, on real sockets and on any text."""

from __future__ import annotations

import json
import os
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from conftest import needs_ipv6
from portscope.analysis import CloseWaitTrend, TrafficTracker, listener_queue
from portscope.collect import Collector, take_snapshot
from portscope.model import EphemeralRange, Owner, Snapshot, Socket, TcpInfoTable
from portscope.report.health import accept_queue_record, close_wait_record
from portscope.report.json_rows import connection_rows, traffic_text
from portscope.report.lookup import socket_record
from portscope.report.owner import owner_record
from portscope.report.snapshot import connection_record, listener_record, snapshot_record, to_json
from portscope.report.traffic import traffic_record
from portscope.tcpinfo import KEPT
from sockets import SocketFarm, pour

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))
OWNERS = st.one_of(
    st.none(),
    st.builds(
        Owner,
        pid=st.integers(1, 2**22),
        name=st.one_of(st.none(), ANY_TEXT),
        user=st.one_of(st.none(), ANY_TEXT),
    ),
)
PORTS = st.integers(0, 65535)
SOCKETS = st.builds(
    Socket,
    proto=st.sampled_from(["tcp", "udp"]),
    family=st.sampled_from(["ipv4", "ipv6"]),
    local_address=ANY_TEXT,
    local_port=st.sampled_from([22, 32768, 40000, 60999, 61000]) | PORTS,
    remote_address=st.one_of(st.none(), ANY_TEXT),
    remote_port=st.one_of(st.none(), PORTS),
    state=st.one_of(st.none(), st.sampled_from(["LISTEN", "ESTABLISHED", "TIME_WAIT"]), ANY_TEXT),
    owner=OWNERS,
)


def records_text(snapshot: Snapshot) -> list[str]:
    return [json.dumps(connection_record(s, snapshot)) for s in snapshot.connections]


def test_real_snapshot_is_what_json_dumps_writes(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener, 3)
    udp = farm.udp_socket("127.0.0.1")
    udp.connect(farm.udp_socket("127.0.0.1").getsockname())
    farm.release(farm.connect(listener)[0][0])  # the server side is left in CLOSE_WAIT
    snapshot = take_snapshot()
    assert len(snapshot.connections) >= 8
    assert to_json(snapshot) == json.dumps(snapshot_record(snapshot))


@needs_ipv6
def test_ipv6_rows_are_what_json_dumps_writes(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("::", v6only=False)
    farm.connect(listener, 2, host="::1")
    farm.connect(listener, 2, host="127.0.0.1")
    snapshot = take_snapshot()
    families = {s.family for s in snapshot.connections if s.local_port == listener.getsockname()[1]}
    assert families == {"ipv6"}
    assert connection_rows(snapshot) == records_text(snapshot)


@given(
    st.lists(SOCKETS, max_size=30),
    st.lists(SOCKETS, max_size=5),
    st.frozensets(st.sampled_from([40000, 40001, 50000])),
)
def test_any_rows_are_what_json_dumps_writes(
    connections: list[Socket], listeners: list[Socket], reserved: frozenset[int]
) -> None:
    """Whatever the text (controls, bidi, lone surrogates) and whichever sockets sit in
    `connections`, listeners or not, the rows and their ephemeral flags match."""
    snapshot = Snapshot(
        taken_at=0.0,
        host="h",
        privileged=True,
        ephemeral_range=EphemeralRange(32768, 60999, reserved),
        listeners=tuple(listeners),
        connections=tuple(connections),
    )
    rows = connection_rows(snapshot)
    assert rows == records_text(snapshot)
    assert all(row.isascii() for row in rows)


def test_one_owner_shared_by_many_rows_is_written_for_each(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener, 5)
    snapshot = take_snapshot()
    port = listener.getsockname()[1]
    mine = [
        json.loads(row)
        for row, sock in zip(connection_rows(snapshot), snapshot.connections, strict=True)
        if port in (sock.local_port, sock.remote_port)
    ]
    assert len(mine) == 10
    assert {row["pid"] for row in mine} == {os.getpid()}


def test_every_record_names_its_process_with_the_same_members(farm: SocketFarm) -> None:
    """Snapshot, lookup and check records all take them from `owner_record`."""
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener, 1)
    snapshot = take_snapshot()
    port = listener.getsockname()[1]
    mine = [s for s in snapshot.sockets if port in (s.local_port, s.remote_port)]
    listening = next(s for s in mine if s.is_listener)
    queue = listener_queue(listening)
    assert queue is not None
    mine_and_hidden = [*mine, replace(listening, owner=None)]
    for sock in mine_and_hidden:
        expected = owner_record(sock.owner)
        trend = CloseWaitTrend(sock.owner, (1,), growing=False, level="ok")
        records = [
            connection_record(sock, snapshot),
            socket_record(sock, snapshot),
            close_wait_record(trend),
        ]
        if sock.is_listener:
            records += [
                listener_record(sock, snapshot),
                accept_queue_record(replace(queue, listener=sock)),
            ]
        for record in records:
            assert {k: record[k] for k in expected} == expected
    assert owner_record(listening.owner) == {
        "pid": os.getpid(),
        "process": listening.owner.name if listening.owner else None,
        "user": listening.owner.user if listening.owner else None,
        "container": None,
        "unit": listening.owner.unit if listening.owner else None,
    }
    assert owner_record(None) == {
        "pid": None, "process": None, "user": None, "container": None, "unit": None
    }  # fmt: skip


def test_rows_with_traffic_are_what_json_dumps_writes(farm: SocketFarm) -> None:
    """Counters, rates over a real interval and the reasons for their absence."""
    listener = farm.tcp_listener("127.0.0.1")
    pairs = farm.connect(listener, 3)
    udp = farm.udp_socket("127.0.0.1")
    udp.connect(farm.udp_socket("127.0.0.1").getsockname())
    collector, tracker = Collector(tcp_info=True), TrafficTracker()
    tracker.update(collector.collect())
    for client, server in pairs:
        pour(client, server, 123_457)
    snapshot = collector.collect()
    traffic = tracker.update(snapshot)
    assert traffic.interval is not None
    assert to_json(snapshot, traffic) == json.dumps(snapshot_record(snapshot, traffic))


@given(
    st.lists(SOCKETS, max_size=20),
    st.lists(st.binary(min_size=0, max_size=KEPT.size), max_size=20),
)
def test_any_counters_are_written_as_json_dumps_writes(
    sockets: list[Socket], kept: list[bytes]
) -> None:
    """Whatever a kernel's struct holds (any bytes, any length down to none), the
    counters and the fields it lacks are written as json.dumps writes them."""
    connections = tuple(replace(s, proto="tcp", state="ESTABLISHED") for s in sockets)
    pairs = list(zip(connections, kept, strict=False))
    table = TcpInfoTable([s for s, _ in pairs], {id(s): raw for s, raw in pairs})
    snapshot = Snapshot(
        taken_at=0.0,
        host="h",
        privileged=True,
        ephemeral_range=EphemeralRange(32768, 60999),
        listeners=(),
        connections=connections,
        tcp_info=table,
        source="netlink",
    )
    assert connection_rows(snapshot) == records_text(snapshot)
    report = TrafficTracker().update(snapshot)
    assert connection_rows(snapshot, report) == [
        json.dumps(connection_record(s, snapshot, report)) for s in connections
    ]
    assert traffic_text(report) == json.dumps(traffic_record(report))
