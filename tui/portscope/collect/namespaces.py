"""Every network namespace on this host that portscope could read sockets in.

A namespace is known by the inode of its nsfs file: the same inode behind
`/proc/<pid>/ns/net` of every process in it and behind an `ip netns` name bound under
`/run/netns`, whatever path led to it. `ss` walks one namespace; containers,
`ip netns` sandboxes and Kubernetes pods each have their own, so the inventory starts
here. Discovery is one `readlink` per process (no file is opened; `stat` of the same
link costs three times as much, as it makes the kernel resolve the namespace's
dentry), cheap enough for every poll (BENCHMARKS.md, "Network namespaces"). Threads
that entered another namespace on their own are not followed: they are rare, and
the short-lived ones portscope itself makes (`setns`) are gone before it looks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from portscope.model import NETNS_PREFIX, Container, names_namespace

NamespaceKind = Literal["host", "named", "container", "process"]
"""`host`: the one pid 1 is in (ours where pid 1 cannot be read); `named`: has an
`ip netns` name; `container`: its processes are one container's (or one pod's);
`process`: only processes keep it alive."""
ContainerOf = Callable[[int], "Container | None"]
"""The container a pid runs in, if any (cached by whoever gives it: see
`collect.runtime.ContainerOf`)."""

PROC_ROOT = "/proc"
NETNS_DIR = "/run/netns"


@dataclass(frozen=True)
class Namespace:
    """One network namespace: its identity, the name an operator would use, and the
    processes in it (lowest pid first), which are its owners' candidates."""

    inode: int
    name: str
    kind: NamespaceKind
    pids: tuple[int, ...]
    ip_names: tuple[str, ...]
    """Its names under /run/netns, sorted; podman's CNI sandboxes have one too."""


@dataclass(frozen=True)
class Inventory:
    """The namespaces of one discovery, host first, then by name.

    `unreadable` counts processes whose namespace could not be looked at (EACCES: not
    ours to see, as for an unprivileged user); processes that exited meanwhile are not
    counted. `netns_of` maps each readable pid to its namespace's inode.
    """

    namespaces: tuple[Namespace, ...]
    host: int
    netns_of: Mapping[int, int]
    unreadable: int
    proc_root: str = PROC_ROOT
    netns_dir: str = NETNS_DIR

    def find(self, selector: str) -> Namespace | None:
        """The namespace a user means by `host`, an `ip netns` name, an inode, or
        `netns:<inode>` (as `--netns` will take them)."""
        for namespace in self.namespaces:
            if names_namespace(selector, namespace.inode, (namespace.name, *namespace.ip_names)):
                return namespace
        return None

    def entry_paths(self, namespace: Namespace) -> Iterator[str]:
        """Files that open `namespace`, most stable first: an `ip netns` name outlives
        any process, a pid can exit (whoever opens one checks the inode it got)."""
        for name in namespace.ip_names:
            yield f"{self.netns_dir}/{name}"
        for pid in namespace.pids:
            yield f"{self.proc_root}/{pid}/ns/net"


def link_inode(path: str, dir_fd: int | None = None) -> int:
    """The namespace inode a `/proc/<pid>/ns/net` link names (`net:[4026531833]`);
    OSError if it cannot be read."""
    return int(os.readlink(path, dir_fd=dir_fd)[5:-1])


def host_inode(proc_root: str = PROC_ROOT) -> int:
    """pid 1's namespace; else pid 2's (kthreadd, which the kernel keeps in the initial
    namespaces) where pid 1's cannot be read (a sandbox whose init holds capabilities
    we lack); else ours (not root, or a container where we are not their peer)."""
    for pid in ("1", "2"):
        try:
            return link_inode(f"{proc_root}/{pid}/ns/net")
        except OSError:
            continue
    return link_inode(f"{proc_root}/self/ns/net")


def process_namespaces(proc_root: str = PROC_ROOT) -> tuple[dict[int, int], int]:
    """pid -> namespace inode for every process whose namespace we may see, and how
    many we may not. One readlink per pid, relative to an open /proc."""
    netns_of: dict[int, int] = {}
    unreadable = 0
    proc = os.open(proc_root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for entry in os.listdir(proc):
            if not entry.isdigit():
                continue
            try:
                netns_of[int(entry)] = link_inode(f"{entry}/ns/net", proc)
            except PermissionError:
                unreadable += 1
            except OSError:
                continue  # exited since the listing
    finally:
        os.close(proc)
    return netns_of, unreadable


def named_namespaces(
    netns_dir: str = NETNS_DIR, proc_root: str = PROC_ROOT
) -> dict[int, list[str]]:
    """inode -> `ip netns` names. A name counts only while an nsfs file is mounted on
    it: a leftover file (its namespace deleted without `ip netns del`) is on tmpfs."""
    nsfs = os.stat(f"{proc_root}/self/ns/net").st_dev
    names: dict[int, list[str]] = {}
    try:
        entries = sorted(os.listdir(netns_dir))
    except OSError:
        return names
    for name in entries:
        try:
            info = os.stat(f"{netns_dir}/{name}")
        except OSError:
            continue
        if info.st_dev == nsfs:
            names.setdefault(info.st_ino, []).append(name)
    return names


def discover(
    proc_root: str = PROC_ROOT, netns_dir: str = NETNS_DIR, container_of: ContainerOf | None = None
) -> Inventory:
    """Every network namespace with a process in it or an `ip netns` name; named by
    their containers where `container_of` is given."""
    netns_of, unreadable = process_namespaces(proc_root)
    named = named_namespaces(netns_dir, proc_root)
    host = host_inode(proc_root)
    members: dict[int, list[int]] = {host: []}
    for pid, inode in netns_of.items():
        members.setdefault(inode, []).append(pid)
    for inode in named:
        members.setdefault(inode, [])
    namespaces = [
        describe(inode, sorted(pids), tuple(named.get(inode, ())), host, container_of)
        for inode, pids in members.items()
    ]
    namespaces.sort(key=lambda ns: (ns.kind != "host", ns.name))
    return Inventory(tuple(namespaces), host, netns_of, unreadable, proc_root, netns_dir)


def describe(
    inode: int,
    pids: list[int],
    ip_names: tuple[str, ...],
    host: int,
    container_of: ContainerOf | None = None,
) -> Namespace:
    """Name a namespace the way an operator would: `host`, the container (or
    Kubernetes pod) all its processes run in, its `ip netns` name, or `netns:<inode>`.
    The container comes before the `ip netns` name, as runtimes name their sandboxes
    there too (podman's CNI: `cni-<uuid>`), where no operator would look."""
    if inode == host:
        return Namespace(inode, "host", "host", tuple(pids), ip_names)
    name = container_name(pids, container_of) if container_of and pids else None
    if name is not None:
        return Namespace(inode, name, "container", tuple(pids), ip_names)
    if ip_names:
        return Namespace(inode, ip_names[0], "named", tuple(pids), ip_names)
    return Namespace(inode, f"{NETNS_PREFIX}{inode}", "process", tuple(pids), ip_names)


def container_name(pids: list[int], container_of: ContainerOf) -> str | None:
    """The name of the one container every pid runs in, or of the one pod whose
    containers share the namespace (a pod's containers do); None if any pid runs in
    no container, or in containers of different pods."""
    containers = {container_of(pid) for pid in pids}
    if not containers or None in containers:
        return None
    ids = {c.id: c for c in containers if c is not None}
    if len(ids) == 1:
        return next(iter(ids.values())).label
    pods = {(c.pod_namespace, c.pod or c.pod_uid) for c in ids.values()}
    if len(pods) != 1:
        return None
    namespace, pod = pods.pop()
    if pod is None:
        return None
    return f"{namespace}/{pod}" if namespace else pod
