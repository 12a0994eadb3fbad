"""Namespace discovery on real namespaces: `ip netns` ones, `unshare --net` ones, a
container's, each found by its inode with its processes, compared with `lsns`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_root, run_with_tree
from containers import RunningContainer, podman, web_container  # noqa: F401 (fixtures)
from namespace_support import TIMEOUT, ip_netns, listener_in, netns_inode_of
from netns import needs_netns
from portscope.collect.namespaces import discover

pytestmark = [needs_root, needs_netns, pytest.mark.root]

NOBODY = 65534


def lsns_inodes() -> set[int]:
    """The network namespaces util-linux's lsns finds from processes."""
    done = subprocess.run(
        ["lsns", "--type", "net", "--json", "--output", "NS,NPROCS"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    return {int(row["ns"]) for row in json.loads(done.stdout)["namespaces"] if row["nprocs"]}


def test_every_namespace_with_a_process_is_found_by_inode_with_its_processes() -> None:
    with (
        ip_netns() as name,
        listener_in(["ip", "netns", "exec", name]) as named,
        listener_in(["unshare", "--net"]) as loose,
    ):
        before = lsns_inodes()
        inventory = discover()
        after = lsns_inodes()
        by_inode = {ns.inode: ns for ns in inventory.namespaces}

        assert named.inode == os.stat(f"/run/netns/{name}").st_ino
        found = by_inode[named.inode]
        assert (found.name, found.kind, found.ip_names) == (name, "named", (name,))
        assert named.pid in found.pids

        found = by_inode[loose.inode]
        assert (found.name, found.kind, found.ip_names) == (f"netns:{loose.inode}", "process", ())
        assert found.pids == (loose.pid,)
        assert inventory.netns_of[loose.pid] == loose.inode

        host = inventory.namespaces[0]
        assert (host.name, host.kind, host.inode) == ("host", "host", inventory.host)
        assert os.getpid() in by_inode[netns_inode_of("self")].pids
        # Namespaces other tests make and drop meanwhile may come and go: those lsns saw
        # both before and after must all be here.
        assert before & after <= set(by_inode)
        assert {named.inode, loose.inode} <= before & after


def test_a_named_namespace_without_processes_is_found() -> None:
    with ip_netns() as name:
        inventory = discover()
        inode = os.stat(f"/run/netns/{name}").st_ino
        found = inventory.find(name)
        assert found is not None
        assert (found.inode, found.kind, found.pids) == (inode, "named", ())
        assert list(inventory.entry_paths(found)) == [f"/run/netns/{name}"]


def test_only_mounted_names_count(tmp_path: Path) -> None:
    """A file left in the netns directory after its namespace went is no namespace."""
    with listener_in(["unshare", "--net"]) as held:
        (tmp_path / "leftover").touch()
        bound = tmp_path / "bound"
        bound.touch()
        subprocess.run(
            ["mount", "--bind", f"/proc/{held.pid}/ns/net", str(bound)], check=True, timeout=10
        )
        try:
            inventory = discover(netns_dir=str(tmp_path))
        finally:
            subprocess.run(["umount", str(bound)], check=True, timeout=10)
        names = {n for ns in inventory.namespaces for n in ns.ip_names}
        assert names == {"bound"}
        found = inventory.find("bound")
        assert found is not None and found.inode == held.inode and found.pids == (held.pid,)
        paths = list(inventory.entry_paths(found))
        assert paths == [f"{tmp_path}/bound", f"/proc/{held.pid}/ns/net"]


def test_selectors_name_a_namespace_by_host_name_or_inode() -> None:
    with ip_netns() as name, listener_in(["unshare", "--net"]) as loose:
        inventory = discover()
        named = inventory.find(name)
        assert named is not None
        assert inventory.find(str(named.inode)) == named
        assert inventory.find(f"netns:{named.inode}") == named
        by_inode = inventory.find(str(loose.inode))
        assert by_inode is not None and by_inode.name == f"netns:{loose.inode}"
        assert inventory.find(by_inode.name) == by_inode
        host = inventory.find("host")
        assert host is not None and host.inode == inventory.host
        assert inventory.find("no-such-namespace") is None


def test_a_containers_namespace_is_found_with_its_process(
    web_container: RunningContainer,  # noqa: F811 (fixture)
) -> None:
    inventory = discover()
    inode = netns_inode_of(web_container.pid)
    found = next(ns for ns in inventory.namespaces if ns.inode == inode)
    assert web_container.pid in found.pids
    assert found.kind in ("named", "process")  # named: podman's CNI keeps it in /run/netns


def test_an_unprivileged_user_counts_what_it_cannot_see() -> None:
    """nobody may not look at root's processes' namespaces: counted, not a failure."""
    script = f"""
import json, os
import portscope.collect.namespaces as namespaces
os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})
inventory = namespaces.discover()
print(json.dumps({{"unreadable": inventory.unreadable,
                  "names": [ns.name for ns in inventory.namespaces],
                  "mine": inventory.netns_of[os.getpid()]}}))
"""
    with listener_in(["unshare", "--net"]) as loose:
        done = run_with_tree([sys.executable, "-c", script])
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen["unreadable"] > 0
        assert f"netns:{loose.inode}" not in seen["names"]
        assert seen["mine"] == netns_inode_of("self")
