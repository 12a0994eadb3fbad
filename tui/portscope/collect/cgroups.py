"""Where a process is placed: the container or the systemd unit its cgroup names.

Runtimes and systemd name cgroups after what they run (`docker-<id>.scope`,
`libpod-<id>`, `cri-containerd-<id>.scope`, `nginx.service`), and /proc/<pid>/cgroup is
readable for every process without entering anything, so one parser here places every
process: container ids come from the path; names, images and ports come from the
runtime's API later, joined on the id. A runtime's own helper (conmon) sits beside
its container's cgroup, not in it, and is placed as a helper, never as the container:
it is what holds a published port on the host for the container.
"""

from __future__ import annotations

import re
from dataclasses import replace

from portscope.collect.namespaces import host_inode, link_inode
from portscope.model import Container, Helper, Placement, Runtime

CONTAINER_ID = r"(?P<id>[0-9a-f]{64})"
SHAPES: tuple[tuple[re.Pattern[str], Runtime | None], ...] = tuple(
    (re.compile(pattern), runtime)
    for pattern, runtime in (
        (rf"^docker-{CONTAINER_ID}\.scope$", "docker"),  # systemd driver
        (rf"^libpod-{CONTAINER_ID}(\.scope)?$", "podman"),  # systemd / cgroupfs driver
        (rf"^cri-containerd-{CONTAINER_ID}\.scope$", "containerd"),
        (rf"^crio-{CONTAINER_ID}\.scope$", "cri-o"),
    )
)
"""One path component naming the container the process runs in, and its runtime."""
PARENT_SHAPES: tuple[tuple[re.Pattern[str], Runtime | None], ...] = (
    (re.compile(r"^docker$"), "docker"),  # /docker/<id>: docker's cgroupfs driver
    (re.compile(r"^pod[0-9a-f-]{36}$"), None),  # /kubepods/<qos>/pod<uid>/<id>: cgroupfs
)
"""A component after which a bare `<id>` component is a container (runtime None: a
Kubernetes container whose runtime the path does not say)."""
BARE_ID = re.compile(rf"^{CONTAINER_ID}$")
HELPERS: tuple[tuple[re.Pattern[str], Runtime], ...] = (
    (re.compile(rf"^libpod-conmon-{CONTAINER_ID}\.scope$"), "podman"),
    (re.compile(r"^conmon$"), "podman"),  # /libpod_parent/conmon: cgroupfs, no id
    (re.compile(rf"^crio-conmon-{CONTAINER_ID}\.scope$"), "cri-o"),
)
"""Components naming a runtime helper (conmon), with the container id when given."""
POD_UID = r"(?P<uid>[0-9a-f]{8}(?:[-_][0-9a-f]{4}){3}[-_][0-9a-f]{12})"
POD = re.compile(rf"(?:^|-)pod{POD_UID}(?:\.slice)?$")
"""kubepods…/pod<uid>/ (cgroupfs) or kubepods-<qos>-pod<uid_with_underscores>.slice."""
USER_MANAGER = re.compile(r"^user@(?P<uid>\d+)\.service$")
UNIT_SUFFIXES = (".service", ".scope")
"""systemd units that hold processes (slices only group them)."""


def place_path(path: str) -> Placement:
    """The placement one cgroup path describes (innermost container wins: a container
    inside a container is placed in the inner one)."""
    parts = [part for part in path.split("/") if part]
    container = helper = None
    pod_uid = None
    for index, part in enumerate(parts):
        pod = POD.search(part)
        if pod:
            pod_uid = pod["uid"].replace("_", "-")
        found = container_in(part, parts[index - 1] if index else "")
        if found:
            container = Container(found[0], found[1], pod_uid)
            helper = None
            continue
        for pattern, runtime in HELPERS:
            match = pattern.match(part)
            if match:
                helper = Helper(runtime, "conmon", match.groupdict().get("id"))
                container = None
    if container or helper:
        return Placement(path, container, helper)
    unit, user = systemd_unit(parts)
    return Placement(path, unit=unit, user=user)


def container_in(part: str, parent: str) -> tuple[Runtime | None, str] | None:
    """(runtime, id) if this path component is a container's cgroup."""
    for pattern, runtime in SHAPES:
        match = pattern.match(part)
        if match:
            return runtime, match["id"]
    bare = BARE_ID.match(part)
    if bare:
        for pattern, runtime in PARENT_SHAPES:
            if pattern.match(parent):
                return runtime, bare["id"]
    return None


def systemd_unit(parts: list[str]) -> tuple[str | None, int | None]:
    """The innermost service or scope in the path, and the uid of the user manager it
    runs under, if any."""
    unit = user = None
    for part in parts:
        manager = USER_MANAGER.match(part)
        if manager:
            user = int(manager["uid"])
        if part.endswith(UNIT_SUFFIXES):
            unit = part
    if unit is not None and USER_MANAGER.match(unit):
        user = None  # the user manager itself is a system unit
    return unit, user


def cgroup_paths(text: str) -> list[str]:
    """The paths of a /proc/<pid>/cgroup file, most telling first: the unified (v2)
    hierarchy, then systemd's named v1 one, then the rest; the root `/` left out."""
    unified: list[str] = []
    named: list[str] = []
    others: list[str] = []
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if not path or path == "/":
            continue
        if hierarchy == "0" and not controllers:
            unified.append(path)
        elif controllers == "name=systemd":
            named.append(path)
        else:
            others.append(path)
    return list(dict.fromkeys(unified + named + others))


def place(text: str) -> Placement | None:
    """A process's placement from its /proc/<pid>/cgroup text: the first path (see
    `cgroup_paths`) that names a container or helper, else the first naming a unit;
    None when no path says anything."""
    placements = [place_path(path) for path in cgroup_paths(text)]
    for placement in placements:
        if placement.container or placement.helper:
            return placement
    for placement in placements:
        if placement.unit:
            return placement
    return None


def read_placement(pid: int, proc_root: str = "/proc") -> Placement | None:
    """Where process `pid` is placed; None if it says nothing or has exited. A
    container's process is also asked whether its network is its own."""
    try:
        with open(f"{proc_root}/{pid}/cgroup", encoding="utf-8", errors="replace") as file:
            placement = place(file.read())
    except OSError:
        return None
    if placement is None or placement.container is None:
        return placement
    try:
        own = link_inode(f"{proc_root}/{pid}/ns/net") != host_inode(proc_root)
    except OSError:
        return placement
    return replace(placement, own_network=own)
