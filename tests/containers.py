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
import socket
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


def start_web(
    podman: str,
    name: str,
    port: int = PORT,
    bind: str = "127.0.0.1",
    publish: str | None = None,
) -> RunningContainer:
    """`python3 -m http.server PORT` on the container's own `bind` address (its
    127.0.0.1 by default), published with `-p publish` when given, once listening."""
    published = ["-p", publish] if publish else []
    subprocess.run(
        [podman, "run", "-d", "--name", name, *published, "--rootfs", "/:O",
         "python3", "-m", "http.server", str(port), "--bind", bind],
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
        if any(s[2] == port and s[5] == "LISTEN" for s in ss_inside(inside)):
            return container
        time.sleep(READY_POLL)
    raise AssertionError(f"container {name} never listened on {port}")


def remove(podman: str, name: str) -> None:
    """`podman rm -f`: the container stopped at once and gone."""
    subprocess.run(
        [podman, "rm", "-f", "-t", "0", name], capture_output=True, timeout=TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def web_container(podman: str) -> Iterator[RunningContainer]:
    """A container serving HTTP on its own 127.0.0.1:8081; removed afterwards, always."""
    name = unique_name()
    try:
        yield start_web(podman, name)
    finally:
        remove(podman, name)


API_SOCKET = "/run/podman/podman.sock"
"""Where rootful Podman serves the Docker Engine API, where portscope looks for it."""


def answers(path: str) -> bool:
    """Whether something accepts connections on the unix socket at `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


@dataclass
class PodmanApi:
    """`podman system service` serving the Docker Engine API at `API_SOCKET`, started
    and stopped by the tests (a test stops it to see portscope without it)."""

    podman: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        os.makedirs(os.path.dirname(API_SOCKET), exist_ok=True)
        self.process = subprocess.Popen(
            [self.podman, "system", "service", "--time=0", f"unix://{API_SOCKET}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT
        while not answers(API_SOCKET):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("podman system service did not start serving")
            time.sleep(READY_POLL)

    def stop(self) -> None:
        """Stopped (podman removes its socket), as after `systemctl stop podman`."""
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=TIMEOUT)
        self.process = None


@pytest.fixture(scope="module")
def podman_api(podman: str) -> Iterator[PodmanApi]:
    """The Docker Engine API served by Podman for this module's tests, stopped after."""
    if answers(API_SOCKET):
        pytest.skip(f"another podman service already serves {API_SOCKET}; not ours to stop")
    api = PodmanApi(podman)
    api.start()
    try:
        yield api
    finally:
        api.stop()
