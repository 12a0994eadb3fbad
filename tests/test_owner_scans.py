"""Owner attribution stays right when it rescans only what changed: fd reuse, pid reuse."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from portscope.collect.fdscan import FdTables, Recheck
from portscope.collect.netlink import live_inodes, read_sockets
from portscope.collect.owners import InodeOwners, ProcessId, identify
from sockets import SocketFarm

ME = os.getpid()


def inode_of(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


def my_ident() -> ProcessId:
    ident = identify(ME)
    assert ident is not None
    return ident


def place(owners: InodeOwners, *socks: socket.socket) -> dict[int, int]:
    """pid by inode for these sockets, resolved as one poll resolves the whole table."""
    inodes = {inode_of(s) for s in socks}
    table = {row.inode for row in read_sockets() if row.inode}
    placed = owners.resolve(table | inodes, recount=live_inodes)
    return {inode: placed[inode][0] for inode in inodes if inode in placed}


def bound_udp_on(fd: int) -> socket.socket:
    """A new bound UDP socket living on fd number `fd`, as when the kernel reuses a number."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    os.dup2(sock.fileno(), fd)
    sock.close()
    return socket.socket(fileno=fd)


def test_a_new_socket_costs_a_readlink_not_a_rescan(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    owners = InodeOwners()
    first = [s for pair in farm.connect(listener, count=1000) for s in pair]
    assert set(place(owners, listener, *first).values()) == {ME}
    assert owners.fd_tables.readlinks > 2000
    place(owners, listener)  # sockets nobody visible holds are settled as unplaceable
    before = owners.fd_tables.readlinks
    client, server = farm.connect(listener)[0]
    assert place(owners, listener, client, server) == {
        inode_of(listener): ME,
        inode_of(client): ME,
        inode_of(server): ME,
    }
    # New fds here and in whatever else runs on the machine, not our 2,000 again.
    assert owners.fd_tables.readlinks - before < 500


def test_a_socket_on_a_reused_socket_fd_is_found(farm: SocketFarm) -> None:
    old = farm.udp_socket()
    owners = InodeOwners()
    assert place(owners, old) == {inode_of(old): ME}
    fd = old.detach()
    new = bound_udp_on(fd)
    try:
        assert place(owners, new) == {inode_of(new): ME}
    finally:
        new.close()


def test_a_socket_on_a_reused_file_fd_is_found(farm: SocketFarm) -> None:
    anchor = farm.udp_socket()
    owners = InodeOwners()
    with open(os.devnull, "rb") as handle:
        fd = os.dup(handle.fileno())
    assert place(owners, anchor) == {inode_of(anchor): ME}
    new = bound_udp_on(fd)
    try:
        assert place(owners, anchor, new) == {inode_of(anchor): ME, inode_of(new): ME}
    finally:
        new.close()


@pytest.fixture
def keeper(farm: SocketFarm) -> Iterator[tuple[socket.socket, subprocess.Popen[bytes]]]:
    """A socket also held by a child process, which outlives our copy of it."""
    shared = farm.udp_socket()
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        pass_fds=(shared.fileno(),),
    )
    try:
        yield shared, child
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)


def test_a_socket_fd_reused_while_another_process_keeps_the_socket(
    keeper: tuple[socket.socket, subprocess.Popen[bytes]],
) -> None:
    shared, _child = keeper
    owners = InodeOwners(retry_after=0.0)
    assert place(owners, shared) == {inode_of(shared): ME}
    new = bound_udp_on(shared.detach())
    try:
        # The fd is remembered as a socket that is still alive, so the first poll may
        # miss it; with retry_after=0 the next one re-reads every fd.
        assert (place(owners, new) or place(owners, new)) == {inode_of(new): ME}
    finally:
        new.close()


def test_a_reused_pid_is_never_blamed(farm: SocketFarm) -> None:
    sock = farm.udp_socket()
    born = {"at": my_ident()[1]}
    owners = InodeOwners(identify=lambda pid: (pid, born["at"]))
    first = owners.resolve({inode_of(sock)})
    born["at"] += 1.0  # the pid now names a different process
    second = owners.resolve({inode_of(sock)})
    assert first[inode_of(sock)] != second[inode_of(sock)] == (ME, born["at"])


def test_a_new_process_identity_starts_its_fd_table_over(farm: SocketFarm) -> None:
    """Only fds not seen before are read again; a reused pid has seen none."""
    farm.udp_socket()
    tables = FdTables()
    ident = my_ident()
    table = tables.refresh(ident, Recheck.SOCKETS_GONE, live=set())
    first = tables.readlinks
    assert first >= len(table.fds) > 0
    tables.refresh(ident, Recheck.SOCKETS_GONE, live=set(table.sockets))
    second = tables.readlinks - first
    assert second <= 1  # at most the fd that listing the directory itself opened
    tables.refresh((ME, ident[1] + 1.0), Recheck.SOCKETS_GONE, live=set(table.sockets))
    assert tables.readlinks - first - second >= len(table.fds)
