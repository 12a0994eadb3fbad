"""Reading another network namespace from a thread that entered it, compared with `ss`
run inside that namespace; the caller's own namespace never moves."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import needs_root, run_with_tree
from containers import RunningContainer, podman, web_container  # noqa: F401 (fixtures)
from namespace_support import (
    PORT,
    TIMEOUT,
    Held,
    ip_netns,
    listener_in,
    netns_inode_of,
    ss_inside,
)
from netns import needs_netns
from portscope.collect.namespaces import Inventory, discover
from portscope.collect.netlink import SockDiagReader
from portscope.collect.nshandle import NetnsHandle, open_handle
from portscope.collect.procnet import RawSocket, read_tables
from portscope.collect.setns import CLONE_NEWNET, NamespaceGone, libc_setns, run_in_netns
from ss import SsSocket

pytestmark = [needs_root, needs_netns, pytest.mark.root]

NOBODY = 65534
RANGE = "sys/net/ipv4/ip_local_port_range"


def as_ss(rows: list[RawSocket]) -> set[SsSocket]:
    """Rows in the witness's terms (no pid: `ss -tuanH` is run without -p)."""
    return {
        (r.proto, r.local_address, r.local_port, r.remote_address, r.remote_port, r.state, None)
        for r in rows
    }


def thread_netns() -> int:
    return netns_inode_of("thread-self")


@contextmanager
def handle_on(inventory: Inventory, inode: int) -> Iterator[NetnsHandle]:
    namespace = next(ns for ns in inventory.namespaces if ns.inode == inode)
    handle = open_handle(inventory, namespace)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def named() -> Iterator[tuple[str, Held]]:
    """An `ip netns` namespace with a listener on 127.0.0.1:8081 and a connection to it."""
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        yield name, held


def test_a_dump_through_a_handle_is_that_namespaces_table(named: tuple[str, Held]) -> None:
    name, held = named
    ours = thread_netns()
    with handle_on(discover(), held.inode) as handle:
        rows = SockDiagReader(conn=handle.diag).read().rows
        assert thread_netns() == ours
    witness = ss_inside(["ip", "netns", "exec", name])
    assert as_ss(rows) == witness
    assert ("tcp", "127.0.0.1", PORT, None, None, "LISTEN", None) in witness
    assert len(witness) == 3  # the listener, and both ends of its connection
    # Socket inodes are unique across namespaces: none of these is in our own dump.
    assert not {r.inode for r in rows} & SockDiagReader().read().inodes


def test_a_process_only_namespace_is_entered_through_its_process() -> None:
    with listener_in(["unshare", "--net"]) as held:
        with handle_on(discover(), held.inode) as handle:
            rows = SockDiagReader(conn=handle.diag).read().rows
        assert as_ss(rows) == ss_inside(["nsenter", f"--net=/proc/{held.pid}/ns/net"])


def test_the_socket_is_reused_from_any_thread_and_sees_each_poll_afresh(
    named: tuple[str, Held],
) -> None:
    name, held = named
    with handle_on(discover(), held.inode) as handle:
        reader = SockDiagReader(conn=handle.diag)
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(lambda: reader.read().rows).result()
            port = held.connect()
            second = pool.submit(lambda: reader.read().rows).result()
        assert handle.diag.fileno() >= 0  # still open: the reader does not close it
    assert all(r.local_port != port for r in first)
    assert ("tcp", "127.0.0.1", port, "127.0.0.1", PORT, "ESTABLISHED", None) in as_ss(second)
    assert as_ss(second) == ss_inside(["ip", "netns", "exec", name])


def test_the_callers_threads_stay_in_their_namespace(named: tuple[str, Held]) -> None:
    _name, held = named
    main_before = netns_inode_of(f"{os.getpid()}/task/{threading.get_native_id()}")
    seen = run_in_netns(f"/proc/{held.pid}/ns/net", thread_netns, held.inode)
    assert seen == held.inode != main_before
    assert thread_netns() == main_before
    assert netns_inode_of("self") == main_before


def test_sysctls_read_through_a_handle_are_the_namespaces_own(named: tuple[str, Held]) -> None:
    """/proc/sys/net shows the reading thread's namespace: entering is what it takes,
    and a file opened inside keeps reading that namespace's current value."""
    name, held = named
    ours = Path(f"/proc/{RANGE}").read_text()
    low = 20000 if not ours.startswith("20000") else 21000

    def set_range(first: int) -> None:
        setting = f"net.ipv4.ip_local_port_range={first} 30000"
        argv = ["ip", "netns", "exec", name, "sysctl", "-qw", setting]
        subprocess.run(argv, check=True, timeout=TIMEOUT)

    set_range(low)
    with handle_on(discover(), held.inode) as handle:
        assert handle.read(RANGE) == f"{low}\t30000\n"
        set_range(low + 1)
        assert handle.read(RANGE) == f"{low + 1}\t30000\n"
        assert handle.read("sys/net/ipv4/ip_unprivileged_port_start") is not None
        assert handle.read("sys/net/ipv4/no_such_sysctl") is None
    # Through the process's own /proc, from outside, it is still our value, not theirs.
    assert Path(f"/proc/{held.pid}/root/proc/{RANGE}").read_text() == ours
    assert Path(f"/proc/{RANGE}").read_text() == ours


def test_sockstat_through_a_handle_counts_that_namespaces_sockets() -> None:
    """Zero means nothing to dump; the counts follow the namespace as it changes."""
    with listener_in(["unshare", "--net"]) as held, handle_on(discover(), held.inode) as handle:
        assert handle.inet_sockets() == 3  # the listener and both ends of a connection
        held.connect()
        assert handle.inet_sockets() == 5
        assert handle.read("net/sockstat") == Path(f"/proc/{held.pid}/net/sockstat").read_text()
    with ip_netns() as name, handle_on(discover(), discover().find(name).inode) as handle:
        assert handle.inet_sockets() == 0
        assert SockDiagReader(conn=handle.diag).read().rows == []


def test_counters_through_a_handle_are_the_namespaces_own(named: tuple[str, Held]) -> None:
    """The same as nstat run inside the namespace."""
    name, held = named
    with handle_on(discover(), held.inode) as handle:
        counters, notes = handle.counters()
    inside = ["ip", "netns", "exec", name, "nstat", "-asz"]
    done = subprocess.run(inside, capture_output=True, text=True, timeout=TIMEOUT, check=True)
    rows = (line.split() for line in done.stdout.splitlines() if not line.startswith("#"))
    nstat = {row[0]: int(row[1]) for row in rows}
    assert notes == []
    assert counters.values == {name: nstat[name] for name in counters.values}
    assert {"TcpExtListenDrops", "TcpEstabResets"} <= counters.values.keys()


def test_proc_pid_net_is_read_without_entering(named: tuple[str, Held]) -> None:
    """Where entering is not possible, /proc/<pid>/net shows that pid's namespace."""
    name, held = named
    rows, errors = read_tables(f"/proc/{held.pid}/net")
    assert errors == []
    assert as_ss(rows) == ss_inside(["ip", "netns", "exec", name])


def test_a_namespace_whose_way_in_has_gone_says_so() -> None:
    with listener_in(["unshare", "--net"]) as held:
        inventory = discover()
        namespace = next(ns for ns in inventory.namespaces if ns.inode == held.inode)
    with pytest.raises(NamespaceGone):
        open_handle(inventory, namespace)


def test_a_path_leading_elsewhere_is_not_entered(named: tuple[str, Held]) -> None:
    """A reused pid: the path now leads to another namespace than the one expected."""
    _name, held = named
    with pytest.raises(NamespaceGone):
        run_in_netns("/proc/self/ns/net", thread_netns, held.inode)


def test_ctypes_setns_enters_on_pythons_without_os_setns(named: tuple[str, Held]) -> None:
    _name, held = named
    seen: list[int] = []

    def enter_by_ctypes() -> None:
        fd = os.open(f"/proc/{held.pid}/ns/net", os.O_RDONLY)
        try:
            libc_setns(fd, CLONE_NEWNET)
        finally:
            os.close(fd)
        seen.append(thread_netns())

    thread = threading.Thread(target=enter_by_ctypes)
    thread.start()
    thread.join()
    assert seen == [held.inode]
    with pytest.raises(OSError):
        libc_setns(-1, CLONE_NEWNET)


def test_a_containers_listener_is_read_through_a_handle(
    web_container: RunningContainer,  # noqa: F811 (fixture)
) -> None:
    inode = netns_inode_of(web_container.pid)
    with handle_on(discover(), inode) as handle:
        rows = SockDiagReader(conn=handle.diag).read().rows
    witness = ss_inside(["nsenter", f"--net=/proc/{web_container.pid}/ns/net"])
    assert as_ss(rows) == witness
    assert ("tcp", "127.0.0.1", PORT, None, None, "LISTEN", None) in witness


def test_an_unprivileged_user_is_refused_entry_but_reads_its_own(
    named: tuple[str, Held],
) -> None:
    name, _held = named
    script = f"""
import os, sys
import portscope.collect.namespaces as namespaces, portscope.collect.nshandle as nshandle
from portscope.collect.netlink import SockDiagReader
os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})
inventory = namespaces.discover()
mine = inventory.find(str(inventory.netns_of[os.getpid()]))
own = nshandle.open_handle(inventory, mine)
assert SockDiagReader(conn=own.diag).read().rows is not None
try:
    nshandle.open_handle(inventory, inventory.find({name!r}))
except PermissionError:
    print("refused")
"""
    done = run_with_tree([sys.executable, "-c", script])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "refused"
