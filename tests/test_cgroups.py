"""Placing processes from their cgroup: the path shapes runtimes and systemd make,
then real cgroup files: a podman container's process and its conmon, and a process
moved into a unit's cgroup."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cgroup_support import cgroup2_root, process_in_cgroup, systemd_is_init
from conftest import needs_root
from containers import RunningContainer, podman, web_container  # noqa: F401 (fixtures)
from namespace_support import TIMEOUT, unique_name
from portscope.collect.cgroups import Container, Helper, Placement, place, read_placement

ID = "3f4e2b1a" * 8
INNER = "9c8d7e6f" * 8
POD = "0f3c9c7e-1b2a-4d5e-8f90-123456789abc"
POD_SYSTEMD = POD.replace("-", "_")

# (what /proc/<pid>/cgroup says, container, helper, unit, user)
SHAPES: list[tuple[str, Container | None, Helper | None, str | None, int | None]] = [
    # Docker, systemd cgroup driver (v2) and cgroupfs driver (v1 lines), and nested.
    (f"0::/system.slice/docker-{ID}.scope", Container("docker", ID), None, None, None),
    (f"12:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/", Container("docker", ID),
     None, None, None),
    (f"0::/docker/{ID}/docker/{INNER}", Container("docker", INNER), None, None, None),
    (f"0::/docker/{ID[:12]}", None, None, None, None),  # not a full id: no container
    # Podman: systemd driver (payload in a `container` child on v2), rootless, cgroupfs.
    (f"0::/machine.slice/libpod-{ID}.scope/container", Container("podman", ID), None, None, None),
    (f"0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope",
     Container("podman", ID), None, None, None),
    (f"0::/libpod_parent/libpod-{ID}", Container("podman", ID), None, None, None),
    # conmon: beside the container, serving it, never placed as the container.
    (f"0::/machine.slice/libpod-conmon-{ID}.scope", None, Helper("podman", "conmon", ID),
     None, None),
    ("0::/libpod_parent/conmon", None, Helper("podman", "conmon", None), None, None),
    # Kubernetes, systemd driver: pod uid with underscores in the slice name.
    ("0::/kubepods.slice/kubepods-burstable.slice/"
     f"kubepods-burstable-pod{POD_SYSTEMD}.slice/cri-containerd-{ID}.scope",
     Container("containerd", ID, POD), None, None, None),
    (f"0::/kubepods.slice/kubepods-pod{POD_SYSTEMD}.slice/cri-containerd-{ID}.scope",
     Container("containerd", ID, POD), None, None, None),
    ("0::/kubepods.slice/kubepods-besteffort.slice/"
     f"kubepods-besteffort-pod{POD_SYSTEMD}.slice/crio-{ID}.scope",
     Container("cri-o", ID, POD), None, None, None),
    ("0::/kubepods.slice/kubepods-besteffort.slice/"
     f"kubepods-besteffort-pod{POD_SYSTEMD}.slice/crio-conmon-{ID}.scope",
     None, Helper("cri-o", "conmon", ID), None, None),
    (f"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{POD_SYSTEMD}.slice/"
     f"docker-{ID}.scope", Container("docker", ID, POD), None, None, None),
    # Kubernetes, cgroupfs driver: the runtime is not in the path.
    (f"0::/kubepods/burstable/pod{POD}/{ID}", Container(None, ID, POD), None, None, None),
    (f"0::/kubepods/pod{POD}/{ID}", Container(None, ID, POD), None, None, None),
    # systemd units of host processes.
    ("0::/system.slice/nginx.service", None, None, "nginx.service", None),
    ("0::/system.slice/system-getty.slice/getty@tty1.service", None, None,
     "getty@tty1.service", None),
    ("0::/system.slice/containerd.service", None, None, "containerd.service", None),
    ("0::/init.scope", None, None, "init.scope", None),
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/syncthing.service",
     None, None, "syncthing.service", 1000),
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-2214.scope",
     None, None, "app-firefox-2214.scope", 1000),
    ("1:name=systemd:/user.slice/user-1000.slice/user@1000.service", None, None,
     "user@1000.service", None),
    ("0::/user.slice/user-1000.slice/session-3.scope", None, None, "session-3.scope", None),
    # Hybrid: v2 empty, systemd's named v1 hierarchy holds the unit.
    ("4:memory:/system.slice/sshd.service\n1:name=systemd:/system.slice/sshd.service\n0::/",
     None, None, "sshd.service", None),
]  # fmt: skip
NOTHING = [
    "0::/",
    "4:memory:/process_api/d6a30d5f7ebea8db7897dbe7ba983515\n0::/",
    "",
    "garbage without colons",
]


@pytest.mark.parametrize(("text", "container", "helper", "unit", "user"), SHAPES)
def test_each_path_shape_is_placed(
    text: str,
    container: Container | None,
    helper: Helper | None,
    unit: str | None,
    user: int | None,
) -> None:
    placement = place(text)
    if (container, helper, unit) == (None, None, None):
        assert placement is None
        return
    assert placement is not None
    assert (placement.container, placement.helper, placement.unit, placement.user) == (
        container,
        helper,
        unit,
        user,
    )


@pytest.mark.parametrize("text", NOTHING)
def test_a_path_that_says_nothing_places_nothing(text: str) -> None:
    assert place(text) is None


def test_a_container_wins_over_a_unit_in_another_hierarchy() -> None:
    text = f"4:memory:/docker/{ID}\n1:name=systemd:/system.slice/docker.service\n0::/"
    placement = place(text)
    assert placement is not None and placement.container == Container("docker", ID)
    assert placement.path == f"/docker/{ID}"


def test_a_real_containers_process_and_its_conmon(
    podman: str,  # noqa: F811 (fixture)
    web_container: RunningContainer,  # noqa: F811 (fixture)
) -> None:
    placement = read_placement(web_container.pid)
    assert placement is not None
    assert placement.container is not None and placement.helper is None
    assert (placement.container.runtime, placement.container.id) == ("podman", web_container.id)
    done = subprocess.run(
        [podman, "inspect", "--format", "{{.State.ConmonPid}}", web_container.name],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    )  # fmt: skip
    conmon = read_placement(int(done.stdout))
    assert conmon is not None and conmon.container is None
    assert conmon.helper is not None
    assert (conmon.helper.runtime, conmon.helper.name) == ("podman", "conmon")
    assert conmon.helper.container_id in (None, web_container.id)  # cgroupfs driver: None


@needs_root
@pytest.mark.root
@pytest.mark.skipif(systemd_is_init(), reason="systemd owns this cgroup tree; not ours to write")
@pytest.mark.skipif(cgroup2_root() is None, reason="no cgroup v2 hierarchy mounted")
@pytest.mark.parametrize(
    ("relative", "unit", "user"),
    [
        ("/system.slice/{name}.service", "{name}.service", None),
        ("/user.slice/user-1000.slice/user@1000.service/app.slice/{name}.service",
         "{name}.service", 1000),
    ],
)  # fmt: skip
def test_a_real_process_in_a_units_cgroup_is_placed_in_the_unit(
    relative: str, unit: str, user: int | None
) -> None:
    """systemd is not pid 1 here (no systemd-run), so the process is moved into a unit's
    cgroup by hand; the kernel then writes /proc/<pid>/cgroup as it would for systemd."""
    name = unique_name()
    path = relative.format(name=name)
    with process_in_cgroup(path) as child:
        pid = child.pid
        assert f"0::{path}\n" in Path(f"/proc/{pid}/cgroup").read_text()
        placement = read_placement(pid)
    assert placement == Placement(path, unit=unit.format(name=name), user=user)


def test_a_process_that_has_gone_has_no_placement() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    assert read_placement(child.pid) is None
    assert read_placement(os.getpid()) == place(Path("/proc/self/cgroup").read_text())
