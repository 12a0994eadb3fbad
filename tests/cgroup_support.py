"""Real processes in cgroups made by hand, where systemd is not pid 1 to make them:
the kernel then writes /proc/<pid>/cgroup as it would for a systemd unit."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest


def cgroup2_root() -> Path | None:
    """Where this machine mounts cgroup v2 (hybrid: /sys/fs/cgroup/unified)."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _source, target, fstype, *_rest = line.split()
        if fstype == "cgroup2":
            return Path(target)
    return None


def systemd_is_init() -> bool:
    return Path("/run/systemd/system").is_dir()


@contextmanager
def process_in_cgroup(
    relative: str, command: Sequence[str] = ("sleep", "300")
) -> Iterator[subprocess.Popen[str]]:
    """A real process (`command`) moved into the cgroup at `relative` (made for it and
    removed afterwards): what systemd does to a unit's processes, done by hand."""
    root = cgroup2_root()
    assert root is not None
    made: list[Path] = []
    path = root
    for part in relative.strip("/").split("/"):
        path = path / part
        if not path.exists():
            path.mkdir()
            made.append(path)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        (path / "cgroup.procs").write_text(str(child.pid))
        yield child
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
        for directory in reversed(made):
            directory.rmdir()


HAND_MADE = os.geteuid() == 0 and not systemd_is_init() and cgroup2_root() is not None
"""Whether a test may make cgroups itself: root, and no systemd owning the tree."""
needs_hand_made_cgroups = pytest.mark.skipif(
    not HAND_MADE, reason="needs root, a cgroup v2 hierarchy, and systemd not its owner"
)
needs_a_unit = pytest.mark.skipif(
    not (HAND_MADE or (os.geteuid() == 0 and systemd_is_init())),
    reason="needs root, and systemd-run or a cgroup v2 hierarchy to make a unit in",
)


@contextmanager
def process_in_unit(
    name: str, command: Sequence[str]
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A real process in a systemd unit, and the unit's name: `systemd-run --scope`
    where systemd is pid 1 (it execs `command` in the scope), else a `.service`
    cgroup made by hand as systemd would make it."""
    if not systemd_is_init():
        with process_in_cgroup(f"/system.slice/{name}.service", command) as child:
            yield child, f"{name}.service"
        return
    child = subprocess.Popen(
        ["systemd-run", "--quiet", "--scope", "--unit", name, *command],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield child, f"{name}.scope"
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
