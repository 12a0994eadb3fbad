"""tcp_info from the collector: the counters of real loopback transfers of known sizes
equal what was sent and what `ss -tin` reads in the same instant; sockets without
counters say so; the counters never make a socket a changed one."""

from __future__ import annotations

import socket

import pytest

from conftest import needs_ipv6
from portscope.analysis.traffic import counters_missing
from portscope.collect import Collector
from portscope.delta import Delta
from portscope.tcpinfo import FIELDS, KEPT_FROM, absent_fields, decode, kept_length
from sockets import SocketFarm, pour
from ss import ss_tcp_info
from traffic_support import by_ends, ends, settle

SENT = 1_234_567
ANSWERED = 89_012


@pytest.mark.parametrize("host", ["127.0.0.1", pytest.param("::1", marks=needs_ipv6)])
def test_bytes_equal_the_sizes_sent_and_what_ss_reads(farm: SocketFarm, host: str) -> None:
    listener = farm.tcp_listener(host)
    ((client, server),) = farm.connect(listener)
    pour(client, server, SENT)
    pour(server, client, ANSWERED)
    settle(client, server)
    snapshot = Collector(tcp_info=True).collect()
    kernel = ss_tcp_info()
    assert snapshot.tcp_info is not None
    found = by_ends(snapshot, [ends(client), ends(server)])
    opened, accepted = (snapshot.tcp_info.get(found[ends(s)]) for s in (client, server))
    assert opened is not None and accepted is not None
    # The side that opened the connection has its SYN acknowledged as one byte.
    assert (opened.bytes_acked, opened.bytes_received) == (SENT + 1, ANSWERED)
    assert (accepted.bytes_acked, accepted.bytes_received) == (ANSWERED, SENT)
    for sock, info in ((client, opened), (server, accepted)):
        seen = kernel[ends(sock)]
        ours = {
            name: getattr(info, name) for name in seen if name not in ("rtt", "rttvar", "min_rtt")
        }
        assert ours == {name: seen[name] for name in ours}
        for name in ("rtt", "rttvar", "min_rtt"):
            assert abs(getattr(info, name) - seen[name]) < 0.5, name  # ss prints ms, 3 places


def test_sockets_without_counters_say_why_and_are_not_in_the_table(farm: SocketFarm) -> None:
    """UDP keeps no per-socket byte counters, a listener moves no data, and TIME_WAIT
    (a mini socket) has no tcp_info; the ESTABLISHED rows dumped among them still
    match ss (their messages are longer than a TIME_WAIT one's)."""
    listener = farm.tcp_listener("127.0.0.1")
    pairs = farm.connect(listener, 4)
    gone_client, gone_server = pairs[0]
    waiting_port = gone_client.getsockname()[1]
    farm.release(gone_client)
    farm.release(gone_server)  # the client closed first: its side waits in TIME_WAIT
    udp = farm.udp_socket("127.0.0.1")
    peer = farm.udp_socket("127.0.0.1")
    udp.connect(peer.getsockname())
    for client, server in pairs[1:]:
        pour(client, server, 70_000)
        settle(client)
    snapshot = Collector(tcp_info=True).collect()
    assert snapshot.tcp_info is not None
    kernel = ss_tcp_info()
    ports = {listener.getsockname()[1], udp.getsockname()[1], peer.getsockname()[1]}
    mine = [s for s in snapshot.sockets if {s.local_port, s.remote_port} & ports]
    assert {s.proto for s in mine} == {"tcp", "udp"} and len(mine) >= 10
    for sock in mine:
        reason = counters_missing(sock, snapshot)
        if sock.proto == "udp":
            assert reason == "UDP: the kernel keeps no per-socket byte counters"
        elif sock.is_listener:
            assert reason == "a listener moves no data"
        elif sock.state in ("TIME_WAIT", "SYN_RECV"):
            assert reason == f"{sock.state}: the kernel keeps no tcp_info for it"
        else:
            assert reason is None, sock
        assert (snapshot.tcp_info.raw(sock) is None) == (reason is not None)
    waiting = [s for s in snapshot.connections if s.state == "TIME_WAIT"]
    assert any(s.local_port == waiting_port for s in waiting)
    for client, server in pairs[1:]:
        found = by_ends(snapshot, [ends(client), ends(server)])
        for sock in (client, server):
            info = snapshot.tcp_info.get(found[ends(sock)])
            assert info is not None
            assert (info.bytes_acked, info.bytes_received) == (
                kernel[ends(sock)]["bytes_acked"],
                kernel[ends(sock)]["bytes_received"],
            )


@pytest.mark.parametrize("source", ["procfs", "psutil"])
def test_the_other_sources_have_no_counters(farm: SocketFarm, source: str) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, _server),) = farm.connect(listener)
    snapshot = Collector(source=source, tcp_info=True).collect()  # type: ignore[arg-type]
    assert snapshot.tcp_info is None
    (mine,) = by_ends(snapshot, [ends(client)]).values()
    expected = f"the {source} source has no per-connection counters"
    assert counters_missing(mine, snapshot) == expected


def test_asked_only_when_wanted_and_switched_between_polls(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener)
    collector = Collector()
    assert collector.collect().tcp_info is None
    collector.tcp_info = True
    table = collector.collect().tcp_info
    assert table is not None and len(table) >= 2
    collector.tcp_info = False
    snapshot = collector.collect()
    assert snapshot.tcp_info is None
    assert counters_missing(snapshot.connections[0], snapshot) == "tcp_info was not asked for"


def test_moving_counters_leave_the_socket_unchanged(farm: SocketFarm) -> None:
    """Counters that moved between two polls change neither the Socket (the collector
    hands back the same object) nor the Delta: only the side table differs."""
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    collector = Collector(tcp_info=True)
    settle(client)
    first = collector.collect()
    pour(client, server, 500_000)
    settle(client)
    second = collector.collect()
    found_first = by_ends(first, [ends(client)])[ends(client)]
    found_second = by_ends(second, [ends(client)])[ends(client)]
    assert found_second is found_first
    delta = Delta.between(first, second)
    assert found_second not in (*delta.added, *delta.changed, *delta.replaced)
    assert first.tcp_info is not None and second.tcp_info is not None
    before, after = first.tcp_info.get(found_first), second.tcp_info.get(found_second)
    assert before is not None and after is not None
    assert (after.bytes_acked or 0) - (before.bytes_acked or 0) == 500_000


def test_an_older_kernels_shorter_struct_leaves_its_missing_fields_none(farm: SocketFarm) -> None:
    """This kernel's attribute, cut to the length each older release wrote: the fields
    that release had read as before, the later ones are None (never 0)."""
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    pour(client, server, 10_000)
    settle(client)
    snapshot = Collector(tcp_info=True).collect()
    assert snapshot.tcp_info is not None
    kept = snapshot.tcp_info.raw(by_ends(snapshot, [ends(client)])[ends(client)])
    assert kept is not None and not absent_fields(len(kept))
    full = decode(kept)
    releases = {"2.6": 104, "3.15": 120, "4.1": 136, "4.2": 144, "4.6": 160, "4.9": 168}
    for release, length in releases.items():
        short = decode(kept[: kept_length(length)])
        for name, (offset, kind, since) in FIELDS.items():
            present = offset + (8 if kind == "Q" else 4) <= length
            assert present == (
                tuple(map(int, since.split("."))) <= (*map(int, release.split(".")),)
            )
            assert getattr(short, name) == (getattr(full, name) if present else None), name
        assert absent_fields(length - KEPT_FROM) == {
            name for name in FIELDS if getattr(short, name) is None
        }


def test_a_socket_option_read_agrees_with_the_dump(farm: SocketFarm) -> None:
    """getsockopt(TCP_INFO) on the socket itself is the same struct: the dump's kept
    bytes are its bytes at the same offsets."""
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    pour(client, server, 64_000)
    settle(client)
    snapshot = Collector(tcp_info=True).collect()
    own = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
    assert snapshot.tcp_info is not None
    dumped = snapshot.tcp_info.get(by_ends(snapshot, [ends(client)])[ends(client)])
    assert dumped is not None
    mine = decode(own[KEPT_FROM : KEPT_FROM + kept_length(len(own))])
    for name in (
        "bytes_acked",
        "bytes_received",
        "segs_out",
        "segs_in",
        "total_retrans",
        "min_rtt",
    ):
        assert getattr(mine, name) == getattr(dumped, name), name
