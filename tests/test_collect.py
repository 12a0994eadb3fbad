"""The collector finds the test's own sockets, each with the right state, owner and
ephemeral flag, through both socket-table sources."""

from __future__ import annotations

import json
import os
import pwd
import sys
from pathlib import Path

import pytest

from conftest import has_ipv6_loopback, run_with_tree
from netns import needs_netns
from portscope.collect import Collector
from portscope.delta import Delta
from portscope.model import Snapshot, Socket
from sockets import SocketFarm
from ss import ss_sockets
from workload import Workload, mixed, snapshot_records

SOURCES = ("procfs", "psutil")
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def workload(farm) -> Workload:  # type: ignore[no-untyped-def]
    return mixed(farm, established=300, v6=has_ipv6_loopback())


def ends(sock: Socket) -> tuple[tuple[str, int], tuple[str | None, int | None]]:
    return (sock.local_address, sock.local_port), (sock.remote_address, sock.remote_port)


def mine(work: Workload, snap: Snapshot) -> tuple[set, set]:
    """(listeners, connections) of the snapshot that touch the workload's endpoints."""
    listeners = {s for s in snap.listeners if work.mine(*ends(s))}
    connections = {s for s in snap.connections if work.mine(*ends(s))}
    return listeners, connections


@pytest.mark.parametrize("source", SOURCES)
def test_every_listener_and_connection_found(workload: Workload, source: str) -> None:
    snap = Collector(source=source).collect()  # type: ignore[arg-type]
    listeners, connections = mine(workload, snap)
    assert snapshot_records(listeners) == workload.listeners
    found = snapshot_records(connections)
    assert workload.connections <= found, workload.connections - found
    held_by_me = {r for r in found if r[7] == os.getpid()}
    assert held_by_me == {r for r in workload.connections if r[7] == os.getpid()}
    assert snap.source == source and not snap.errors


@pytest.mark.parametrize("source", SOURCES)
def test_owner_details_of_own_sockets(workload: Workload, source: str) -> None:
    snap = Collector(source=source).collect()  # type: ignore[arg-type]
    listeners, connections = mine(workload, snap)
    owners = {s.owner for s in listeners | connections if s.owner is not None}
    assert len(owners) == 1
    (owner,) = owners
    me = os.getpid()
    with open(f"/proc/{me}/cmdline", "rb") as handle:
        argv = tuple(os.fsdecode(a) for a in handle.read().split(b"\0")[:-1])
    assert owner.pid == me and owner.cmdline == argv and owner.create_time
    assert owner.user == pwd.getpwuid(os.geteuid()).pw_name
    assert owner.name


@pytest.mark.parametrize("source", SOURCES)
def test_ephemeral_flag(workload: Workload, source: str) -> None:
    """Kernel-chosen client ports are ephemeral unless they are also a listener's port;
    server ends (the listener's port) never are."""
    listened = {(s[0], s[2]) for s in ss_sockets() if s[5] == "LISTEN" or s[3] is None}
    snap = Collector(source=source).collect()  # type: ignore[arg-type]
    _, near = mine(workload, snap)
    connections = [s for s in near if snapshot_records([s]) <= workload.connections]
    assert len(connections) == len(workload.connections)
    for sock in connections:
        key = (sock.proto, sock.local_port)
        expected = key in workload.kernel_chosen and key not in listened
        assert snap.is_ephemeral(sock) == expected, sock
    assert any(snap.is_ephemeral(s) for s in connections)
    assert not any(snap.is_ephemeral(s) for s in snap.listeners)


IN_NAMESPACE = """
import json, subprocess, sys
sys.path.insert(0, sys.argv[1])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
from sockets import SocketFarm
from workload import mixed, snapshot_records
from portscope.collect import Collector
with SocketFarm() as farm:
    work = mixed(farm, established=60)
    report = {"listeners": sorted(work.listeners, key=str),
              "connections": sorted(work.connections, key=str)}
    for source in ("procfs", "psutil"):
        snap = Collector(source=source).collect()
        report[source] = {
            "listeners": sorted(snapshot_records(snap.listeners), key=str),
            "connections": sorted(snapshot_records(snap.connections), key=str),
            "unattributed": snap.unattributed,
            "errors": list(snap.errors),
        }
print(json.dumps(report))
"""


@pytest.mark.root
@needs_netns
def test_whole_snapshot_is_exactly_the_workload_in_a_private_namespace() -> None:
    """Alone in a fresh network namespace, nothing else shares the tables: both sources
    must report exactly the workload's sockets, and root sees every owner."""
    argv = ["unshare", "--net", "--", sys.executable, "-c", IN_NAMESPACE, str(TESTS)]
    done = run_with_tree(argv)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for source in SOURCES:
        seen = report[source]
        assert seen["listeners"] == report["listeners"], source
        assert seen["connections"] == report["connections"], source
        assert seen["errors"] == [], source
    assert report["procfs"]["unattributed"] == 0
    assert report["psutil"]["unattributed"] <= 1, "only the unaccepted connection is unsure"


def test_reuseport_sockets_stay_distinct(farm: SocketFarm) -> None:
    """Two sockets on one address and port (SO_REUSEPORT) are two listeners with two
    identities, so a delta never merges them."""
    first = farm.udp_socket("127.0.0.1", reuse_port=True)
    port = first.getsockname()[1]
    farm.udp_socket("127.0.0.1", port, reuse_port=True)
    snap = Collector(source="procfs").collect()
    twins = [
        s
        for s in snap.listeners
        if (s.proto, s.local_address, s.local_port) == ("udp", "127.0.0.1", port)
    ]
    assert len(twins) == 2 and len({s.key for s in twins}) == 2
    added = Delta.between(None, snap).added
    assert sum(s in twins for s in added) == 2


def test_owner_metadata_is_read_once_per_process(farm: SocketFarm) -> None:
    """A steady process costs no re-read of its name, user and cmdline: the second poll
    hands back the very record the first one read."""
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    collector = Collector(source="procfs")
    owners = []
    for _ in range(2):
        (sock,) = [s for s in collector.collect().listeners if s.key[2:4] == ("127.0.0.1", port)]
        owners.append(sock.owner)
    assert owners[0] is not None and owners[0].pid == os.getpid()
    assert owners[1] is owners[0]
