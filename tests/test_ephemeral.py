"""The ephemeral range comes from the OS, and 'ephemeral' follows it: in range, not
reserved, not a listener's port. The range is set for real in a private network
namespace, where it can be changed without touching the machine's."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import run_with_tree
from netns import needs_netns
from portscope.collect.ephemeral import (
    IANA_DYNAMIC,
    linux_range,
    parse_port_list,
    read_ephemeral_range,
)

IN_NAMESPACE = """
import json, socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
    f.write("40000 40009")
with open("/proc/sys/net/ipv4/ip_local_reserved_ports", "w") as f:
    f.write("40003,40005-40006")
keep = []
def tcp(bind_port=None):
    s = socket.socket()
    if bind_port is not None:
        s.bind(("127.0.0.1", bind_port))
    keep.append(s)
    return s
listener = tcp(40001)
listener.listen()
for port in (40005, 30000, 40009, None, None, None):
    tcp(port).connect(("127.0.0.1", 40001))
    keep.append(listener.accept()[0])
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 40002))
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.connect(("127.0.0.1", 40002))
keep += [udp, client]
done = subprocess.run(
    [sys.executable, "-m", "portscope", "snapshot", "--json"],
    capture_output=True, text=True, timeout=60, check=True,
)
print(done.stdout)
"""


@pytest.mark.root
@needs_netns
def test_range_reserved_ports_and_listener_ports_in_a_namespace() -> None:
    done = run_with_tree(["unshare", "--net", "--", sys.executable, "-c", IN_NAMESPACE])
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    rng = doc["ephemeral_range"]
    assert (rng["low"], rng["high"], rng["reserved"]) == (40000, 40009, [40003, "40005-40006"])
    assert rng["source"] == "/proc/sys/net/ipv4/ip_local_port_range"
    assert rng["usable"] == 7
    flags: dict[tuple[str, int], set[bool]] = {}
    for c in doc["connections"]:
        flags.setdefault((c["proto"], c["local_port"]), set()).add(c["ephemeral"])
    assert flags.pop(("tcp", 40005)) == {False}, "reserved"
    assert flags.pop(("tcp", 30000)) == {False}, "outside the range"
    assert flags.pop(("tcp", 40009)) == {True}, "in range, though chosen by bind()"
    assert flags.pop(("tcp", 40001)) == {False}, "the server ends: a listener's port"
    ((udp_port, udp_flag),) = [(port, f) for (proto, port), f in flags.items() if proto == "udp"]
    assert udp_flag == {True} and udp_port in {40000, 40001, 40004, 40007, 40008, 40009}
    kernel_chosen = {port: f for (proto, port), f in flags.items() if proto == "tcp"}
    assert set(kernel_chosen) <= {40000, 40002, 40004, 40007, 40008}
    assert len(kernel_chosen) == 3 and all(f == {True} for f in kernel_chosen.values())


def test_kernel_port_list_notation() -> None:
    assert parse_port_list("") == (frozenset(), [])
    assert parse_port_list("8080,9000-9002\n") == ({8080, 9000, 9001, 9002}, [])
    assert parse_port_list("x,70000,5-3,22, 23 ,-1,1-,\u0661") == (
        {22, 23},
        ["x", "70000", "5-3", "-1", "1-", "\u0661"],
    )


def sysctl_dir(root: Path) -> Path:
    path = root / "sys/net/ipv4"
    path.mkdir(parents=True)
    return path


def test_linux_range_from_files(tmp_path: Path) -> None:
    sysctl = sysctl_dir(tmp_path)
    (sysctl / "ip_local_port_range").write_text("1024\t2047\n")
    (sysctl / "ip_local_reserved_ports").write_text("1500-1501\n")
    found, notes = linux_range(str(tmp_path))
    assert found is not None and notes == []
    assert (found.low, found.high, found.reserved) == (1024, 2047, {1500, 1501})
    assert found.usable == 1022 and found.reserved_spans() == ["1500-1501"]
    assert found.source == str(sysctl / "ip_local_port_range")
    (sysctl / "ip_local_reserved_ports").unlink()
    assert linux_range(str(tmp_path)) == (replace(found, reserved=frozenset()), [])


@pytest.mark.parametrize("text", ["garbage", "5000", "2000 1000", "0 100", "1000 70000", "1 2 3"])
def test_a_range_the_kernel_would_not_hold_is_noted_not_used(tmp_path: Path, text: str) -> None:
    path = sysctl_dir(tmp_path) / "ip_local_port_range"
    path.write_text(text + "\n")
    assert linux_range(str(tmp_path)) == (None, [f"{path}: not a port range: {text}"])
    rng, notes = read_ephemeral_range("linux", str(tmp_path))
    assert rng == IANA_DYNAMIC and len(notes) == 1


def test_reserved_ports_that_are_not_ports_are_noted_and_the_rest_kept(tmp_path: Path) -> None:
    sysctl = sysctl_dir(tmp_path)
    (sysctl / "ip_local_port_range").write_text("40000 40009\n")
    (sysctl / "ip_local_reserved_ports").write_bytes(b"40001,99999,4000\xff,40005-40006\n")
    found, notes = linux_range(str(tmp_path))
    assert found is not None and found.reserved == {40001, 40005, 40006}
    path = sysctl / "ip_local_reserved_ports"
    assert notes == [f"{path}: not ports, skipped: 99999, 4000\\xff"]


def test_an_unreadable_range_file_is_noted_and_a_missing_one_is_not(tmp_path: Path) -> None:
    assert linux_range(str(tmp_path)) == (None, [])
    (sysctl_dir(tmp_path) / "ip_local_port_range").mkdir()
    found, notes = linux_range(str(tmp_path))
    assert found is None and notes == [
        f"{tmp_path}/sys/net/ipv4/ip_local_port_range: Is a directory"
    ]


@pytest.mark.parametrize("platform", ["darwin", "win32", "sunos5"])
def test_other_platforms_fall_back_to_iana_when_the_os_will_not_say(platform: str) -> None:
    """On Linux, `sysctl net.inet.ip.portrange.*` fails and `netsh` is missing: both are
    real runs of the real commands, and both end in IANA's range, saying so."""
    assert read_ephemeral_range(platform) == (IANA_DYNAMIC, [])
    assert IANA_DYNAMIC.source.startswith("IANA")
    assert (IANA_DYNAMIC.low, IANA_DYNAMIC.high) == (49152, 65535)
