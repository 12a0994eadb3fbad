"""netlink, /proc/net and psutil describe the same test-opened sockets the same way."""

from __future__ import annotations

import os
import select
import socket

import pytest

from conftest import needs_ipv6
from portscope.collect import Collector
from portscope.collect.netlink import NetlinkUnavailable, SockDiagReader, read_sockets
from portscope.collect.procnet import RawSocket, read_tables
from portscope.model import Socket
from sockets import SocketFarm
from workload import snapshot_records

BACKLOG = 7
CONNECT_PATIENCE = 5.0


def inode_of(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def open_mix(farm: SocketFarm, host: str) -> list[socket.socket]:
    """A listener with one pending and two accepted connections, and UDP both ways."""
    listener = farm.tcp_listener(host, backlog=BACKLOG)
    farm.connect(listener, count=2)
    (waiting,) = farm.connect_pending(listener, 1)
    assert select.select([], [waiting], [], CONNECT_PATIENCE)[1], "loopback connect hung"
    lone = farm.udp_socket(host)
    connected = farm.udp_socket(host)
    connected.connect(lone.getsockname()[:2])
    return [listener, lone, connected]


def rows_of(rows: list[RawSocket], farm: SocketFarm) -> dict[int, RawSocket]:
    mine = {inode_of(s) for s in farm.sockets}
    return {row.inode: row for row in rows if row.inode in mine}


def without_backlog(row: RawSocket) -> RawSocket:
    """/proc/net/tcp does not know a listener's backlog, which sock_diag reports."""
    return row._replace(tx_queue=None) if row.state == "LISTEN" else row


@pytest.mark.parametrize("host", ["127.0.0.1", pytest.param("::1", marks=needs_ipv6)])
def test_netlink_and_procfs_read_identical_rows(farm: SocketFarm, host: str) -> None:
    open_mix(farm, host)
    by_netlink = rows_of(read_sockets(), farm)
    by_procfs = rows_of(read_tables()[0], farm)
    assert len(by_netlink) == len(farm.sockets)
    assert {i: without_backlog(r) for i, r in by_netlink.items()} == by_procfs


def test_netlink_reports_accept_queue_and_backlog(farm: SocketFarm) -> None:
    listener, _lone, _connected = open_mix(farm, "127.0.0.1")
    row = rows_of(read_sockets(), farm)[inode_of(listener)]
    assert (row.state, row.rx_queue, row.tx_queue) == ("LISTEN", 1, BACKLOG)


def test_udp_rows_have_a_remote_only_when_connected(farm: SocketFarm) -> None:
    _listener, lone, connected = open_mix(farm, "127.0.0.1")
    rows = rows_of(read_sockets(), farm)
    assert rows[inode_of(lone)].remote_address is None
    peer = rows[inode_of(connected)]
    assert (peer.remote_address, peer.remote_port) == lone.getsockname()


def test_reader_reuses_rows_of_unchanged_sockets_and_sees_changes(farm: SocketFarm) -> None:
    listener, lone, _connected = open_mix(farm, "127.0.0.1")
    reader = SockDiagReader()
    before = rows_of(reader.read().rows, farm)
    farm.connect(listener)
    after = rows_of(reader.read().rows, farm)
    assert after[inode_of(lone)] is before[inode_of(lone)]
    assert after[inode_of(listener)].rx_queue == before[inode_of(listener)].rx_queue
    assert len(after) == len(before) + 2


def test_a_refused_dump_raises_netlink_unavailable() -> None:
    unknown_family = (0, socket.IPPROTO_TCP, "tcp", "ipv4")
    with pytest.raises(NetlinkUnavailable):
        SockDiagReader(dumps=(unknown_family,)).read()


def test_auto_falls_back_to_procfs_when_the_kernel_refuses(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    collector = Collector(source="auto")
    assert collector.source == "netlink"
    collector.sock_diag = SockDiagReader(dumps=((0, socket.IPPROTO_TCP, "tcp", "ipv4"),))
    snap = collector.collect()
    assert (snap.source, snap.errors) == ("procfs", ())
    assert listener.getsockname()[1] in {s.local_port for s in snap.listeners}


def test_an_explicit_netlink_source_reports_the_refusal_instead() -> None:
    collector = Collector(source="netlink")
    collector.sock_diag = SockDiagReader(dumps=((0, socket.IPPROTO_TCP, "tcp", "ipv4"),))
    snap = collector.collect()
    assert snap.source == "netlink"
    assert snap.errors and "ENOENT" in snap.errors[0]


def mine(collector: Collector, farm: SocketFarm) -> list[Socket]:
    """This process's sockets whose local end is one of the farm's."""
    ends = {s.getsockname()[:2] for s in farm.sockets}
    snap = collector.collect()
    return [
        s for s in snap.sockets if s.pid == os.getpid() and (s.local_address, s.local_port) in ends
    ]


@pytest.mark.parametrize("host", ["127.0.0.1", pytest.param("::1", marks=needs_ipv6)])
def test_all_three_collectors_agree_with_owners(farm: SocketFarm, host: str) -> None:
    open_mix(farm, host)
    netlink, procfs, by_psutil = (
        snapshot_records(mine(Collector(source=name), farm))
        for name in ("netlink", "procfs", "psutil")
    )
    assert len(netlink) == len(farm.sockets)
    assert netlink == procfs == by_psutil
