"""Baselines across network namespaces: `baseline save` on the host keeps the
listeners of every namespace, each named by it, and `check --baseline` names a new one
inside an `ip netns` namespace as such (real listeners, real CLI); a container's
unpublished listener is judged by the `container` exposure (WARNING, not CRITICAL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import cli_env, needs_root, run_portscope
from netns import needs_netns
from portscope.history.baseline import compare
from portscope.history.listeners import listener_id
from portscope.model import (
    Container,
    EphemeralRange,
    NamespaceInfo,
    Owner,
    Placement,
    Snapshot,
    Socket,
)  # fmt: skip
from portscope.report.check import baseline_problems

HOLD = """
import socket, sys
held = []
for address in sys.argv[1:]:
    sock = socket.socket()
    sock.bind((address, 0))
    sock.listen()
    held.append(sock)
print(open("/proc/self/comm").read().strip(), *(s.getsockname()[1] for s in held), flush=True)
sys.stdin.read()
"""


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"psbase-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=30)
    yield name
    subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


def hold(netns: str, *addresses: str) -> tuple[subprocess.Popen[str], str, list[int]]:
    """Listeners held inside `netns` until stdin closes: the process, its name, ports."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", netns, sys.executable, "-c", HOLD, *addresses],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=cli_env(),
    )  # fmt: skip
    assert proc.stdout is not None
    comm, *ports = proc.stdout.readline().split()
    return proc, comm, [int(p) for p in ports]


@needs_root
@needs_netns
@pytest.mark.root
def test_a_new_listener_inside_a_namespace_is_named_with_it(tmp_path: Path, netns: str) -> None:
    baseline = tmp_path / "baseline.json"
    kept, comm, (kept_port,) = hold(netns, "0.0.0.0")
    try:
        assert run_portscope("baseline", "save", str(baseline), timeout=60).returncode == 0
        saved = json.loads(baseline.read_text())
        assert saved["schema"] == "portscope.baseline/2"
        assert {"port": kept_port, "netns": netns, "exposure": "all"}.items() <= next(
            e for e in saved["listeners"] if e["port"] == kept_port
        ).items()
        new, _comm, (exposed, loopback) = hold(netns, "0.0.0.0", "127.0.0.1")
        try:
            done = run_portscope("check", "--baseline", str(baseline), timeout=60)
            doc = json.loads(
                run_portscope("check", "--baseline", str(baseline), "--json", timeout=60).stdout
            )
        finally:
            new.communicate("")
    finally:
        kept.communicate("")
    lines = done.stdout.splitlines()
    inside = f"in {netns} {comm}"
    unlisted = "not in the baseline"
    exposed_line = f"new listener tcp 0.0.0.0:{exposed} {inside} (all interfaces), {unlisted}"
    loopback_line = f"new listener tcp 127.0.0.1:{loopback} {inside} (loopback only), {unlisted}"
    assert f"CRITICAL: {exposed_line}" in lines
    assert f"WARNING: {loopback_line}" in lines
    assert not any(str(kept_port) in line for line in lines)  # in the baseline, by namespace
    new_ports = {(e["port"], e["netns"]) for e in doc["baseline"]["new"]}
    assert {(exposed, netns), (loopback, netns)} <= new_ports
    assert done.returncode == 2


def test_a_containers_unpublished_listener_is_new_as_a_warning_naming_the_container() -> None:
    web = Container("podman", "a" * 64, name="web")
    owner = Owner(77, "nginx", "root", placement=Placement("/x", web, own_network=True))
    inode = 4026532999
    sock = Socket("tcp", "ipv4", "0.0.0.0", 8080, state="LISTEN", owner=owner, inode=5,
                  netns=inode)  # fmt: skip
    snapshot = Snapshot(1.0, "test", True, EphemeralRange(32768, 60999), (sock,), (),
                        namespaces=(NamespaceInfo(inode, "web", "container"),))  # fmt: skip
    identity = listener_id(sock, snapshot)
    assert (identity.netns, identity.exposure, identity.place) == ("web", "container", "web")
    ((level, line),) = baseline_problems(compare((), (identity,)))
    assert level == "warning"
    assert line == (
        "new listener tcp 0.0.0.0:8080 in web nginx (container network only), not in the baseline"
    )
