"""Owner attribution stays right when it rescans only what changed: fd reuse, pid reuse."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from netns import needs_netns
from portscope.collect.fdscan import FdTables, ProcessId, Recheck
from portscope.collect.netlink import live_inodes, read_sockets
from portscope.collect.owners import InodeOwners, identify
from sockets import SocketFarm
from workload import mixed

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


CHILD = """
import os, socket, sys
def bound():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock
old = bound()
print(old.fileno(), flush=True)
sys.stdin.readline()
fd = old.detach()
os.close(fd)
print("closed", flush=True)
sys.stdin.readline()
refilled = bound()
assert refilled.fileno() == fd
unseen = bound()
print(unseen.fileno(), flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    """A process that closes a socket's fd, then puts a new socket on that number and
    another on a number it never used, one step per line on its stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def step(proc: subprocess.Popen[str]) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_a_socket_on_a_closed_fd_is_found_without_listing(child: subprocess.Popen[str]) -> None:
    """A REUSED walk never lists the fd directory, yet finds a socket on an fd it saw
    close; the socket on a number it never saw (the control) is left to wider walks."""
    assert child.stdout is not None
    fd = child.stdout.readline().strip()
    ident = identify(child.pid)
    assert ident is not None
    tables = FdTables()
    assert fd in tables.refresh(ident, Recheck.SOCKETS_GONE, live_inodes()).fds
    assert step(child) == "closed"
    assert fd in tables.refresh(ident, Recheck.REUSED, live_inodes()).vacant
    unseen = step(child)
    table = tables.refresh(ident, Recheck.REUSED, live_inodes())
    assert fd in table.sockets.values() and fd not in table.vacant
    assert unseen not in table.fds
    assert unseen in tables.refresh(ident, Recheck.SOCKETS_GONE, live_inodes()).sockets.values()


CONTAINED = """
import socket, sys
held = []
for _ in range(50):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    held.append(sock)
print("ready", flush=True)
sys.stdin.readline()
"""


@needs_netns
def test_sockets_of_another_network_namespace_are_not_reread_every_poll() -> None:
    """A container's sockets never show in our dump; they are foreign, not gone, so a
    REUSED walk leaves its fds alone (before, each walk re-read every one of them)."""
    inner = f"ip link set lo up && exec {sys.executable} -c '{CONTAINED}'"
    proc = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", inner],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        ident = identify(proc.pid)
        assert ident is not None
        tables = FdTables()
        table = tables.refresh(ident, Recheck.SOCKETS_GONE, live_inodes())
        assert len(table.foreign) == 50 and table.elsewhere
        before = tables.readlinks
        tables.refresh(ident, Recheck.REUSED, live_inodes())
        assert tables.readlinks == before
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_the_recount_sees_every_socket_a_process_can_hold(farm: SocketFarm) -> None:
    """The recount asks the kernel only for states a held socket can be in; every held
    socket of a mixed workload (listeners, UDP, ESTABLISHED, CLOSE_WAIT, SYN_SENT, v4
    and v6) is still in it."""
    mixed(farm, established=20)
    assert {inode_of(s) for s in farm.sockets} <= live_inodes()
