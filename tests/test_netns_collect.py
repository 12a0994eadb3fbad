"""The collector across real network namespaces: `ip netns` and `unshare --net` ones with
a listener and connections inside, each socket found in its own namespace with its
owner, `ss` run inside as the witness; identity, deletion and per-namespace ranges."""

from __future__ import annotations

import socket
import subprocess

import pytest

from conftest import needs_root, run_portscope
from namespace_support import PORT, TIMEOUT, ip_netns, listener_in, ss_inside
from netns import needs_netns
from portscope.closing import close_connection
from portscope.collect import Collector
from portscope.delta import Delta
from portscope.model import Snapshot, Socket
from ss import SsSocket

pytestmark = [needs_root, needs_netns, pytest.mark.root]


def as_ss(sockets: list[Socket]) -> set[SsSocket]:
    """Sockets in the witness's terms (no pid: `ss -tuanH` is run without -p)."""
    return {
        (s.proto, s.local_address, s.local_port, s.remote_address, s.remote_port, s.state, None)
        for s in sockets
    }


def in_netns(snapshot: Snapshot, inode: int) -> list[Socket]:
    return [s for s in snapshot.sockets if s.netns == inode]


def every() -> Collector:
    return Collector(namespaces="every", rediscover_after=0)


def test_every_socket_is_found_in_its_own_namespace_with_its_owner() -> None:
    with (
        ip_netns() as name,
        listener_in(["ip", "netns", "exec", name]) as named,
        listener_in(["unshare", "--net"]) as loose,
    ):
        snapshot = every().collect()
        for held, prefix in (
            (named, ["ip", "netns", "exec", name]),
            (loose, ["nsenter", f"--net=/proc/{loose.pid}/ns/net"]),
        ):
            mine = in_netns(snapshot, held.inode)
            assert as_ss(mine) == ss_inside(prefix)
            assert len(mine) == 3  # the listener, a connection and its accepted end
            assert {s.pid for s in mine} == {held.pid}
        assert snapshot.namespace(named.inode).name == name
        assert snapshot.namespace(named.inode).sockets == 3
        assert snapshot.namespace(loose.inode).name == f"netns:{loose.inode}"
        assert snapshot.namespace(loose.inode).kind == "process"


def test_owners_in_other_namespaces_are_not_counted_unattributed() -> None:
    """Socket inodes are one number space: a container's sockets are placed by the same
    fd walk, not left as foreign."""
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        collector = every()
        collector.collect()
        held.connect()
        snapshot = collector.collect()
        mine = in_netns(snapshot, held.inode)
        assert len(mine) == 5
        assert all(s.owner is not None and s.owner.pid == held.pid for s in mine)


def test_the_same_address_in_two_namespaces_stays_two_rows_through_deltas() -> None:
    with (
        ip_netns() as first_name,
        ip_netns() as second_name,
        listener_in(["ip", "netns", "exec", first_name]) as first,
        listener_in(["ip", "netns", "exec", second_name]) as second,
    ):
        collector = every()
        before = collector.collect()
        listening = [s for s in before.listeners if s.netns in (first.inode, second.inode)]
        assert {(s.local_address, s.local_port) for s in listening} == {("127.0.0.1", 8081)}
        assert {s.netns for s in listening} == {first.inode, second.inode}
        assert len({s.key for s in listening}) == 2
        port = second.connect()
        after = collector.collect()
        delta = Delta.between(before, after)
        added = [s for s in delta.added if s.netns in (first.inode, second.inode)]
        assert {s.netns for s in added} == {second.inode}
        assert port in {s.local_port for s in added}
        assert not [s for s in delta.removed if s.netns in (first.inode, second.inode)]
        assert len(in_netns(after, first.inode)) == 3
        assert len(in_netns(after, second.inode)) == 5


def test_a_namespace_deleted_between_polls_loses_its_rows_and_nothing_fails() -> None:
    with ip_netns() as name:
        with listener_in(["ip", "netns", "exec", name]) as held:
            collector = every()
            first = collector.collect()
            inode = held.inode
            assert len(in_netns(first, inode)) == 3
        subprocess.run(["ip", "netns", "del", name], check=True, timeout=TIMEOUT)
        second = collector.collect()
        assert in_netns(second, inode) == []
        assert second.namespace(inode) is None
        assert not [e for e in second.errors if str(inode) in e]
        assert Delta.between(first, second).removed


def test_each_namespace_has_its_own_ephemeral_range() -> None:
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                name,
                "sysctl",
                "-qw",
                "net.ipv4.ip_local_port_range=40000 40009",
            ],
            check=True,
            timeout=TIMEOUT,
        )
        port = held.connect()
        snapshot = every().collect()
        theirs = snapshot.namespace(held.inode).ephemeral_range
        assert (theirs.low, theirs.high) == (40000, 40009)
        assert snapshot.range_in(held.inode) == theirs
        assert snapshot.ephemeral_range != theirs  # the top level stays the host's
        (client,) = (s for s in in_netns(snapshot, held.inode) if s.local_port == port)
        assert 40000 <= port <= 40009 and snapshot.is_ephemeral(client)


def test_a_listener_in_a_namespace_does_not_make_the_hosts_port_a_service_port() -> None:
    host = Socket("tcp", "ipv4", "127.0.0.1", 50000, "127.0.0.1", 80, "ESTABLISHED", netns=1)
    elsewhere = Socket("tcp", "ipv4", "0.0.0.0", 50000, state="LISTEN", netns=2)
    rng = Collector().collect().ephemeral_range
    snapshot = Snapshot(0.0, "h", True, rng, (elsewhere,), (host,))
    assert snapshot.is_ephemeral(host) == (50000 in rng)
    same = Snapshot(
        0.0,
        "h",
        True,
        rng,
        (Socket("tcp", "ipv4", "0.0.0.0", 50000, state="LISTEN", netns=1),),
        (host,),
    )
    assert not same.is_ephemeral(host)


def test_a_quiet_namespace_is_not_dumped_again_until_its_counters_move() -> None:
    """A dump walks the machine's whole TCP table, so a namespace whose socket counts
    and packet counters stand still keeps its last table (up to `refresh_after`); a
    new connection moves them, and the next poll dumps it."""
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        collector = Collector(namespaces="every", rediscover_after=0)
        assert collector.others is not None
        collector.others.refresh_after = 3600.0
        collector.collect()
        kept = collector.others._dumped[held.inode].table
        collector.collect()
        assert collector.others._dumped[held.inode].table is kept
        port = held.connect()
        after = collector.collect()
        assert collector.others._dumped[held.inode].table is not kept
        assert port in {s.local_port for s in in_netns(after, held.inode)}
        assert as_ss(in_netns(after, held.inode)) == ss_inside(["ip", "netns", "exec", name])


def test_a_connection_of_another_namespace_is_closed_there_not_misdirected() -> None:
    """Closing goes through a sock_diag socket opened inside the connection's own
    namespace: the same 4-tuple held here, in ours, is another connection and stays."""
    with (
        socket.socket() as here_listener,
        ip_netns() as name,
        listener_in(["ip", "netns", "exec", name]) as held,
        socket.socket() as here_client,
    ):
        inside = ["ip", "netns", "exec", name]
        snapshot = every().collect()
        (client,) = [s for s in in_netns(snapshot, held.inode) if s.remote_port == PORT]
        here_listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        here_listener.bind(("127.0.0.1", PORT))
        here_listener.listen()
        here_client.bind(("127.0.0.1", client.local_port))
        here_client.connect(("127.0.0.1", PORT))
        twin = (client.local_address, client.local_port, client.remote_address, PORT)
        assert close_connection(client) == (
            f"Closed tcp 127.0.0.1:{client.local_port} -> 127.0.0.1:{PORT} (ESTABLISHED)."
        )
        assert as_ss([client]) & ss_inside(inside) == set()
        assert any(s[1:5] == twin and s[5] == "ESTABLISHED" for s in ss_inside([]))
        here_client.sendall(b"still")
        assert here_listener.accept()[0].recv(5) == b"still"
        assert held.process.poll() is None


def test_the_cli_closes_a_connection_inside_an_ip_netns() -> None:
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        port = held.connect()
        ends = f"src 127.0.0.1:{port} and dst 127.0.0.1:{PORT}"
        done = run_portscope("close", "--filter", f"netns = {name} and {ends}", "--yes")
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"Closed tcp 127.0.0.1:{port} -> 127.0.0.1:{PORT} (ESTABLISHED).\n"
        left = {s[2] for s in ss_inside(["ip", "netns", "exec", name]) if s[4] == PORT}
        assert port not in left and left, "the other connection inside stays"
