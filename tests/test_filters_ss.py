"""Filter expressions against `ss` on the same real sockets: each expression and its ss
spelling select the same sockets of a mixed loopback workload (every TCP state the
workload can hold, UDP bound and connected, IPv6, a dual-stack listener with v4-mapped
peers)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import has_ipv6_loopback
from portscope.collect import Collector
from portscope.model import Socket
from portscope.view.filters import SocketText, compile_filter
from sockets import SocketFarm
from ss import SS_TIMEOUT, plain_address, split_endpoint
from workload import Workload, mixed

pytestmark = pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")

Seen = tuple[str, str, int, "str | None", "int | None"]
"""A socket by its protocol and ends: unique within the workload."""


def seen(sock: Socket) -> Seen:
    return (sock.proto, sock.local_address, sock.local_port, sock.remote_address, sock.remote_port)


def ss_row(line: str) -> Seen:
    """One `ss -tuanH` row; ss leaves the state column out when the filter names one
    state only."""
    fields = line.split()
    local, peer = (fields[3], fields[4]) if len(fields) == 5 else (fields[4], fields[5])
    local_address, local_port = split_endpoint(local)
    peer_address, peer_port = split_endpoint(peer)
    connected = peer_port != "*"
    return (
        fields[0],
        plain_address(local_address),
        int(local_port),
        plain_address(peer_address) if connected else None,
        int(peer_port) if connected else None,
    )


def ss_selects(args: list[str], work: Workload) -> set[Seen]:
    done = subprocess.run(
        ["ss", "-tuanH", *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=SS_TIMEOUT,
        check=True,
    )
    rows = (ss_row(line) for line in done.stdout.splitlines() if line.strip())
    return {row for row in rows if work.mine((row[1], row[2]), (row[3], row[4]))}


@pytest.fixture(scope="module")
def workload() -> tuple[Workload, list[Socket]]:
    """The workload and the collector's sockets of it, read once: nothing in it moves
    while the table is checked (TIME_WAIT and FIN_WAIT2 outlive the test)."""
    with SocketFarm() as farm:
        work = mixed(farm, established=20, v6=has_ipv6_loopback())
        sockets = [
            s
            for s in Collector().collect().sockets
            if work.mine((s.local_address, s.local_port), (s.remote_address, s.remote_port))
        ]
        yield work, sockets


def port_of(work: Workload, address: str, proto: str = "tcp") -> int:
    """The port of the workload's listener on `address` (the first one there)."""
    return min(r[3] for r in work.listeners if r[2] == address and r[0] == proto)


CASES = [
    # (our expression, ss's arguments); {v4} {v6} {dual} {udp} are the listeners' ports
    ("state established", ["state", "established"]),
    ("state established and ( dport = :{v4} )", ["state", "established", "( dport = :{v4} )"]),
    ("state established ( dport = :{v4} )", ["state", "established", "( dport = :{v4} )"]),
    ("sport = :{v4}", ["sport = :{v4}"]),
    ("sport = {v4}", ["sport = {v4}"]),
    ("( dport = :{v4} or sport = :{v4} )", ["( dport = :{v4} or sport = :{v4} )"]),
    ("dport eq :{v4}", ["dport eq :{v4}"]),
    ("dport == :{v4}", ["dport == :{v4}"]),
    ("dport != :{v4}", ["dport != :{v4}"]),
    ("dport neq :{v4}", ["dport neq :{v4}"]),
    ("sport > :{v4}", ["sport > :{v4}"]),
    ("sport >= :{v4}", ["sport >= :{v4}"]),
    ("sport < :{v4}", ["sport < :{v4}"]),
    ("sport <= :{v4}", ["sport <= :{v4}"]),
    ("dport lt :1024", ["dport lt :1024"]),
    ("dport ge :{v4} and dport le :{v4}", ["dport ge :{v4} and dport le :{v4}"]),
    ("dport = :*", ["dport = :*"]),
    ("not dport = :{v4}", ["! dport = :{v4}"]),
    ("! ( sport = :{v4} or dport = :{v4} )", ["! ( sport = :{v4} or dport = :{v4} )"]),
    ("dst 127.0.0.1", ["dst 127.0.0.1"]),
    ("dst 127.0.0.0/8", ["dst 127.0.0.0/8"]),
    ("dst 127/8", ["dst 127/8"]),
    ("dst 127.0.0.1:{v4}", ["dst 127.0.0.1:{v4}"]),
    ("src 127.0.0.1:{v4}", ["src 127.0.0.1:{v4}"]),
    ("src = 127.0.0.1:{v4}", ["src = 127.0.0.1:{v4}"]),
    ("src *:{v4}", ["src *:{v4}"]),
    ("src 0.0.0.0", ["src 0.0.0.0"]),
    ("dst 0.0.0.0/0", ["dst 0.0.0.0/0"]),
    ("src [::1]", ["src [::1]"]),
    ("dst [::1]:{v6}", ["dst [::1]:{v6}"]),
    ("src [::/0]", ["src [::/0]"]),
    ("src 127.0.0.1:{dual}", ["src 127.0.0.1:{dual}"]),
    ("dst [::ffff:127.0.0.1]", ["dst [::ffff:127.0.0.1]"]),
    ("src 127.0.0.1 and sport = :{udp}", ["src 127.0.0.1 and sport = :{udp}"]),
    ("src 127.0.0.1 sport = :{udp}", ["src 127.0.0.1 sport = :{udp}"]),
    (
        "dport = :{udp} or dport = :{v6} or dport = :{dual}",
        ["dport = :{udp} or dport = :{v6} or dport = :{dual}"],
    ),
    ("state connected", ["state", "connected"]),
    ("state synchronized", ["state", "synchronized"]),
    ("state bucket", ["state", "bucket"]),
    ("state big", ["state", "big"]),
    ("state all", ["state", "all"]),
    ("state listening", ["state", "listening"]),
    ("state time-wait", ["state", "time-wait"]),
    ("state close-wait", ["state", "close-wait"]),
    ("state fin-wait-2", ["state", "fin-wait-2"]),
    ("state syn-sent", ["state", "syn-sent"]),
    ("state closed", ["state", "closed"]),
    ("state unconnected", ["state", "unconnected"]),
    ("state established state time-wait", ["state", "established", "state", "time-wait"]),
    ("exclude listening", ["exclude", "listening"]),
    ("exclude established exclude closed", ["exclude", "established", "exclude", "closed"]),
    ("state connected exclude time-wait", ["state", "connected", "exclude", "time-wait"]),
    ("state connected sport = :{v4}", ["state", "connected", "sport = :{v4}"]),
    ("state synchronized and not dst 127.0.0.1", ["state", "synchronized", "! dst 127.0.0.1"]),
    ("state = established", ["state", "established"]),
    (
        "state established sport = :{v4} or dport = :{v4}",
        ["state", "established", "sport = :{v4} or dport = :{v4}"],
    ),
    (
        "dport = :{v4} and sport > :1024 and ! src 127.0.0.2",
        ["dport = :{v4} and sport > :1024 and ! src 127.0.0.2"],
    ),
    (
        "( dport = :{v4} or dport = :{dual} ) sport > :1024",
        ["( dport = :{v4} or dport = :{dual} ) sport > :1024"],
    ),
    (
        "(dport = :{v4} or sport = :{v4}) and state established",
        ["state", "established", "( dport = :{v4} or sport = :{v4} )"],
    ),
    ("state != listening", ["exclude", "listening"]),
]


@pytest.mark.parametrize(("ours", "theirs"), CASES, ids=[case[0] for case in CASES])
def test_the_same_sockets_as_ss(
    workload: tuple[Workload, list[Socket]], ours: str, theirs: list[str]
) -> None:
    work, sockets = workload
    ports = {"v4": port_of(work, "127.0.0.1"), "udp": port_of(work, "127.0.0.1", "udp")}
    if has_ipv6_loopback():
        ports |= {"v6": port_of(work, "::1"), "dual": port_of(work, "::")}
    elif "{v6}" in ours or "{dual}" in ours or "::" in ours:
        pytest.skip("no IPv6 loopback here")
    chosen = compile_filter(ours.format(**ports))
    assert chosen is not None and chosen.uses_socket
    selected = {seen(s) for s in sockets if chosen.matches(s, SocketText(s))}
    assert selected == ss_selects([arg.format(**ports) for arg in theirs], work)


def test_the_table_selects_something_in_most_cases(
    workload: tuple[Workload, list[Socket]],
) -> None:
    """Two selections that are both empty agree without saying much: nearly every case
    selects some of the workload, and none selects all of it."""
    work, sockets = workload
    ports = {"v4": port_of(work, "127.0.0.1"), "udp": port_of(work, "127.0.0.1", "udp")}
    if has_ipv6_loopback():
        ports |= {"v6": port_of(work, "::1"), "dual": port_of(work, "::")}
    sizes = []
    for ours, _theirs in CASES:
        try:
            chosen = compile_filter(ours.format(**ports))
        except KeyError:
            continue
        assert chosen is not None
        sizes.append(sum(chosen.matches(s, SocketText(s)) for s in sockets))
    assert sum(size > 0 for size in sizes) >= len(sizes) - 3
    assert sum(size == len(sockets) for size in sizes) <= 3  # `state all`, `dport = :*`, `/0`
