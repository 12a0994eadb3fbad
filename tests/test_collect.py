"""The collector finds the test's own sockets, each with the right state, owner and
ephemeral flag, through both socket-table sources."""

from __future__ import annotations

import os
import pwd

import pytest

from conftest import has_ipv6_loopback
from portscope.collect import Collector
from portscope.model import Snapshot, Socket
from ss import ss_sockets
from workload import Workload, mixed, snapshot_records

SOURCES = ("procfs", "psutil")


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
