"""Real Podman containers for tests, prepared by .ci/podman-setup.

A container runs the host's own files (`--rootfs /:O`, an overlay that keeps the host
untouched), so no image registry is needed. In CI (CI=true) a machine that cannot run
one fails the tests that need it, loudly; elsewhere they skip only where podman or
root is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from namespace_support import PORT, ss_inside, unique_name

SETUP = Path(__file__).resolve().parent.parent / ".ci" / "podman-setup"
TIMEOUT = 120
READY_POLL = 0.05


@cache
def podman_refusal() -> str | None:
    """Why no container can run here (None: it can), after preparing the machine."""
    if os.geteuid() != 0:
        return "podman tests need root"
    if shutil.which("podman") is None and os.environ.get("CI") != "true":
        return "podman is not installed (.ci/podman-setup installs it)"
    done = subprocess.run(
        ["bash", str(SETUP)], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        return f".ci/podman-setup failed: {done.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def podman() -> str:
    """The podman binary, on a machine prepared to run containers."""
    reason = podman_refusal()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the container tests: {reason}")
        pytest.skip(reason)
    return shutil.which("podman") or "podman"


@dataclass(frozen=True)
class RunningContainer:
    """A running container: its name, full id, and the host pid of its process."""

    name: str
    id: str
    pid: int


def start_web(podman: str, name: str) -> RunningContainer:
    """`python3 -m http.server PORT` on the container's own 127.0.0.1, once listening."""
    subprocess.run(
        [podman, "run", "-d", "--name", name, "--rootfs", "/:O",
         "python3", "-m", "http.server", str(PORT), "--bind", "127.0.0.1"],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    )  # fmt: skip
    inspected = subprocess.run(
        [podman, "inspect", name], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    state = json.loads(inspected.stdout)[0]
    container = RunningContainer(name, state["Id"], state["State"]["Pid"])
    inside = ["nsenter", f"--net=/proc/{container.pid}/ns/net"]
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if any(s[2] == PORT and s[5] == "LISTEN" for s in ss_inside(inside)):
            return container
        time.sleep(READY_POLL)
    raise AssertionError(f"container {name} never listened on {PORT}")


@pytest.fixture(scope="module")
def web_container(podman: str) -> Iterator[RunningContainer]:
    """A container serving HTTP on its own 127.0.0.1:8081; removed afterwards, always."""
    name = unique_name()
    try:
        yield start_web(podman, name)
    finally:
        subprocess.run(
            [podman, "rm", "-f", "-t", "0", name], capture_output=True, timeout=TIMEOUT, check=False
        )
