"""Lookups joined with live sockets the test opens on loopback, and the bind verdict."""

from __future__ import annotations

import os
import random
import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from portscope.collect import read_port_rules, take_snapshot
from portscope.collect.privports import UNPRIVILEGED_START, unprivileged_port_start
from portscope.knowledge import LookupResult, lookup, service_name
from portscope.knowledge.bind import bind_verdict
from portscope.knowledge.classify import check_commands, iana_class, range_facts
from portscope.knowledge.lookup import DEFAULT_LIMIT
from portscope.model import EphemeralRange, PortRules
from sockets import SocketFarm

LINUX_DEFAULT = EphemeralRange(32768, 60999, source="test")


def live_lookup(text: str) -> LookupResult:
    """A lookup as `portscope lookup` makes it: this host's rules and its sockets now."""
    snapshot = take_snapshot()
    return lookup(text, read_port_rules(snapshot), snapshot)


def offline_lookup(text: str, limit: int = DEFAULT_LIMIT) -> LookupResult:
    """A lookup as `portscope lookup --offline` makes it: this host's rules, no sockets."""
    return lookup(text, read_port_rules(), limit=limit)


def can_really_bind(port: int) -> bool:
    """Ask the kernel: would a TCP server on all IPv4 addresses get this port?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def untouched_port_outside(rng: EphemeralRange) -> int:
    """A port below the ephemeral range that no socket here uses at either end and that
    binds: what a fixed-port server would pick. Random, so test runs do not collide."""
    snapshot = take_snapshot()
    used = {s.local_port for s in snapshot.sockets} | {s.remote_port for s in snapshot.sockets}
    candidates = [p for p in range(10_000, rng.low) if p not in used]
    for port in random.sample(candidates, min(50, len(candidates))):
        if can_really_bind(port):
            return port
    pytest.skip("no untouched port below the ephemeral range")


def test_a_real_listener_shows_up_in_use_with_this_process(farm: SocketFarm) -> None:
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    (report,) = live_lookup(str(port)).reports
    mine = [s for s in report.in_use if s.is_listener and s.local_port == port]
    assert mine and mine[0].pid == os.getpid()
    assert mine[0].local_address == "127.0.0.1"


def test_a_listener_means_the_port_cannot_be_bound(farm: SocketFarm) -> None:
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    bind = live_lookup(str(port)).reports[0].bind
    assert bind.can_bind is False
    assert f"pid {os.getpid()}" in bind.verdict
    assert any("listening: tcp 127.0.0.1" in r for r in bind.reasons)
    assert can_really_bind(port) is False


def test_a_borrowed_local_port_blocks_a_bind_too(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, _server),) = farm.connect(listener)
    borrowed = client.getsockname()[1]
    report = live_lookup(str(borrowed)).reports[0]
    assert report.bind.can_bind is False
    assert "outgoing connections" in report.bind.verdict
    assert any(s.remote_port == listener.getsockname()[1] for s in report.in_use)
    assert can_really_bind(borrowed) is False


def test_the_peer_side_of_a_connection_is_listed_too(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener)
    port = listener.getsockname()[1]
    in_use = live_lookup(str(port)).reports[0].in_use
    assert {s.state for s in in_use} >= {"LISTEN", "ESTABLISHED"}
    assert in_use[0].local_port == port, "local holders come first"
    assert any(s.remote_port == port for s in in_use)


def test_a_udp_socket_is_in_use_too(farm: SocketFarm) -> None:
    port = farm.udp_socket("127.0.0.1").getsockname()[1]
    report = live_lookup(str(port)).reports[0]
    mine = [s for s in report.in_use if s.pid == os.getpid()]
    assert [(s.proto, s.local_port, s.is_listener) for s in mine] == [("udp", port, True)]
    assert report.bind.can_bind is False


def test_a_free_port_can_be_bound() -> None:
    port = untouched_port_outside(take_snapshot().ephemeral_range)
    report = live_lookup(str(port)).reports[0]
    assert report.in_use == ()
    assert report.bind.can_bind is True
    assert report.bind.verdict.startswith("Yes")


def test_without_a_snapshot_nothing_is_claimed_about_holders() -> None:
    report = offline_lookup("60630").reports[0]
    assert report.in_use == ()
    assert report.bind.verdict.startswith("Probably")
    assert any("no live data" in r for r in report.bind.reasons)


def test_the_lookup_shows_the_rules_it_is_handed_and_reads_none_itself() -> None:
    """Another host's range, reserved ports, sysctl, privilege and OS come out as handed in,
    whatever this machine (root, Linux) would say."""
    rules = PortRules(
        EphemeralRange(40000, 40099, frozenset({40050}), "handed in"),
        unprivileged_start=1024,
        privileged=False,
        platform="darwin",
    )
    lent, reserved = (lookup(port, rules).reports[0] for port in ("40001", "40050"))
    assert lent.ephemeral and not lent.reserved
    assert reserved.reserved and not reserved.ephemeral
    assert lookup("40001", rules).ephemeral_range == rules.ephemeral_range
    assert "lsof -nP -i :40001" in lent.check_commands
    assert lookup("80", rules).reports[0].bind.can_bind is False
    lower_sysctl = replace(rules, unprivileged_start=80)
    assert lookup("80", lower_sysctl).reports[0].bind.can_bind is True


def test_60630_answers_what_the_web_pages_say() -> None:
    report = offline_lookup("60630").reports[0]
    assert report.iana_class == "dynamic"
    assert report.services == ()
    assert any("Xsan" in n.text for n in report.notes)
    assert any("camera" in n.text for n in report.notes)
    rng = take_snapshot().ephemeral_range
    assert report.ephemeral is (60630 in rng)


def test_names_are_found_exactly_then_by_prefix_then_by_keyword() -> None:
    result = offline_lookup("ssh")
    ports = [r.port for r in result.reports]
    assert ports[0] == 22
    assert result.total == len(ports) > 1
    assert offline_lookup("SSH").reports[0].port == 22
    assert [r.port for r in offline_lookup("Xsan").reports] == [60630]
    assert offline_lookup("lockdownd").reports[0].port == 62078
    assert offline_lookup("x11").reports[0].port == 6000


def test_a_name_nobody_uses_is_no_error() -> None:
    result = offline_lookup("zzqqxv")
    assert result.total == 0 and result.reports == ()


def test_ranges_are_capped_and_counted() -> None:
    result = offline_lookup("1-1023", limit=5)
    assert len(result.reports) == 5
    assert result.total > 5
    assert [r.port for r in result.reports] == sorted(r.port for r in result.reports)
    assert all(1 <= r.port <= 1023 for r in result.reports)


def test_a_range_includes_ports_in_use_here(farm: SocketFarm) -> None:
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    result = live_lookup(f"{port}-{port}")
    assert [r.port for r in result.reports] == [port]


@pytest.mark.parametrize(
    ("port", "kind"),
    [(0, "system"), (1023, "system"), (1024, "user"), (49151, "user"), (49152, "dynamic"),
     (65535, "dynamic")],
)  # fmt: skip
def test_rfc6335_classes(port: int, kind: str) -> None:
    assert iana_class(port) == kind


def test_range_facts_say_where_linux_and_iana_differ() -> None:
    assert "differs from IANA" in " ".join(range_facts(40000, LINUX_DEFAULT))
    assert "will not hand it out" in " ".join(range_facts(62000, LINUX_DEFAULT))
    both = " ".join(range_facts(60630, LINUX_DEFAULT))
    assert "lends it" in both and "differs" not in both
    reserved = EphemeralRange(32768, 60999, reserved=frozenset({40000}))
    assert "reserved" in range_facts(40000, reserved)[0]


def test_bind_verdict_for_privileged_ports_and_the_ephemeral_range() -> None:
    low = bind_verdict(80, [], LINUX_DEFAULT, privileged=False, unprivileged_start=1024)
    assert low.can_bind is False and "CAP_NET_BIND_SERVICE" in low.verdict
    assert bind_verdict(80, [], LINUX_DEFAULT, privileged=True, unprivileged_start=1024).can_bind
    lent = bind_verdict(40000, [], LINUX_DEFAULT, privileged=False, unprivileged_start=1024)
    assert lent.can_bind and "collide" in lent.verdict
    assert any("adding 40000 to net.ipv4.ip_local_reserved_ports" in r for r in lent.reasons)


def test_check_commands_fill_in_the_port_for_each_os() -> None:
    assert "ss -tulpn 'sport = :60630'" in check_commands(60630, "linux")
    assert "lsof -i :60630" in check_commands(60630, "linux")
    assert "nmap -p 60630 localhost" in check_commands(60630, "linux")
    assert "lsof -nP -i :60630" in check_commands(60630, "darwin")
    assert "netstat -ano | findstr :60630" in check_commands(60630, "win32")


def test_service_name_for_table_columns() -> None:
    assert service_name(443) == "https"
    assert service_name(5353, "udp") == "mdns"
    assert service_name(60630) is None


def test_time_wait_from_an_outgoing_connection_blocks_a_bind(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    port = client.getsockname()[1]
    client.close()
    server.recv(1)
    server.close()
    report = live_lookup(str(port)).reports[0]
    server_port = listener.getsockname()[1]
    assert any(
        s.local_port == port and s.remote_port == server_port and s.state == "TIME_WAIT"
        for s in report.in_use
    )
    assert report.bind.can_bind is False
    assert any("TIME_WAIT" in r for r in report.bind.reasons)
    assert can_really_bind(port) is False


def test_a_restarted_servers_time_wait_does_not_block_it(farm: SocketFarm) -> None:
    port = untouched_port_outside(take_snapshot().ephemeral_range)
    listener = farm.tcp_listener("127.0.0.1", port)
    ((client, server),) = farm.connect(listener)
    server.close()
    client.recv(1)
    client.close()
    listener.close()
    report = live_lookup(str(port)).reports[0]
    assert "TIME_WAIT" in {s.state for s in report.in_use if s.local_port == port}
    assert report.bind.can_bind is True
    assert any("SO_REUSEADDR" in r for r in report.bind.reasons)
    assert can_really_bind(port) is True


def test_the_unprivileged_port_start_is_read_from_the_kernel(tmp_path: Path) -> None:
    sysctl = tmp_path / "ip_unprivileged_port_start"
    sysctl.write_text("80\n")
    assert unprivileged_port_start("linux", sysctl) == 80
    assert unprivileged_port_start("linux", tmp_path / "absent") == 1024
    assert unprivileged_port_start("win32", sysctl) == 0
    assert unprivileged_port_start() == int(UNPRIVILEGED_START.read_text())


def test_port_rules_are_the_snapshots_when_read_with_one() -> None:
    """The card agrees with the sockets it lists: their snapshot's range and privilege."""
    snapshot = replace(take_snapshot(), ephemeral_range=LINUX_DEFAULT, privileged=False)
    rules = read_port_rules(snapshot)
    assert (rules.ephemeral_range, rules.privileged) == (LINUX_DEFAULT, False)
    here = read_port_rules()
    assert here.ephemeral_range == take_snapshot().ephemeral_range
    assert here.unprivileged_start == rules.unprivileged_start == unprivileged_port_start()
    assert here.platform == sys.platform
