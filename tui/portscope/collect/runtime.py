"""Names, images and published ports of containers, from their runtime's own API.

A cgroup path gives a container's id only; Docker and Podman (which serves the same
Docker Engine API) know its name, image, Kubernetes labels and port mappings, over a
unix socket. The official Docker SDK speaks that API; it costs about 100 ms to import
(BENCHMARKS.md, "Containers"), so it is imported only once a container or a runtime's
helper is found on this host, never on a host without any.

The list of containers is cached: asked again when a container id nobody knows
appears (at most every `UNKNOWN_RETRY` seconds, so a container no API knows does not
send every poll to it), when a container's process or a runtime's helper came or went
(a container started or stopped: its port mappings with it), and every
`REFRESH_EVERY` seconds for anything else that changed. Every call is bounded by
`TIMEOUT`; it runs on the poller's worker thread, never the event loop. An API that
is absent or refuses leaves containers known by their ids, and says why once, when
the reason first appears or changes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from portscope.collect.cgroups import read_placement
from portscope.model import Container, PortBinding, Proto, Runtime

SYSTEM_SOCKETS = ("/var/run/docker.sock", "/run/podman/podman.sock")
"""Where rootful Docker and Podman serve the Docker Engine API."""
TIMEOUT = 1.0
"""Seconds any one API call may take; the poll goes on without it after that."""
REFRESH_EVERY = 30.0
UNKNOWN_RETRY = 2.0
POD_LABELS = {
    "pod": "io.kubernetes.pod.name",
    "pod_namespace": "io.kubernetes.pod.namespace",
    "pod_container": "io.kubernetes.container.name",
}
"""The labels Kubernetes' runtimes put on a pod's containers (cri-dockerd, podman kube)."""
PROTOS: Mapping[str, Proto] = {"tcp": "tcp", "udp": "udp"}


def api_sockets(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The API sockets to ask: the system ones, `DOCKER_HOST` when it is a unix socket,
    and a user's own rootless Podman (`$XDG_RUNTIME_DIR/podman/podman.sock`)."""
    paths = list(SYSTEM_SOCKETS)
    docker_host = environ.get("DOCKER_HOST", "")
    if docker_host.startswith("unix://"):
        paths.insert(0, docker_host.removeprefix("unix://"))
    runtime_dir = environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        paths.append(f"{runtime_dir}/podman/podman.sock")
    return tuple(dict.fromkeys(paths))


@dataclass(frozen=True)
class Listing:
    """What one API said: its running containers by id, and their published ports."""

    containers: Mapping[str, Container] = field(default_factory=dict)
    bindings: tuple[PortBinding, ...] = ()


def runtime_of(path: str) -> Runtime:
    """Which runtime serves an API socket: Podman's are named after it."""
    return "podman" if "podman" in os.path.basename(path) else "docker"


def parse_listing(answer: Iterable[Mapping[str, Any]], runtime: Runtime | None) -> Listing:
    """The `GET /containers/json` answer as containers and bindings; entries without an
    id, or ports of another protocol (sctp) or never published, are left out."""
    containers: dict[str, Container] = {}
    bindings: list[PortBinding] = []
    for entry in answer:
        ident = entry.get("Id")
        if not isinstance(ident, str):
            continue
        labels = entry.get("Labels") or {}
        names = entry.get("Names") or []
        container = Container(
            runtime=runtime,
            id=ident,
            name=str(names[0]).lstrip("/") if names else None,
            image=str(entry.get("Image") or "") or None,
            **{key: labels.get(label) for key, label in POD_LABELS.items()},
        )
        containers[ident] = container
        for port in entry.get("Ports") or []:
            proto = PROTOS.get(str(port.get("Type", "")))
            public, private = port.get("PublicPort"), port.get("PrivatePort")
            if proto is None or not isinstance(public, int) or not isinstance(private, int):
                continue
            address = str(port.get("IP") or "0.0.0.0")
            bindings.append(PortBinding(container, proto, address, public, private))
    return Listing(containers, tuple(bindings))


def ask_api(path: str, timeout: float) -> Listing:
    """The running containers one API socket lists; a failure raises
    `RuntimeUnavailable` with the reason in a few words.

    The API version is the one the server's `/_ping` names: the SDK's own negotiation
    (`version="auto"`) asks `/version`, which Podman answers in 300 ms (it asks its
    components theirs), against a few for the ping and the list together
    (BENCHMARKS.md, "Containers")."""
    try:
        import docker  # lazily: only hosts with containers pay for the SDK
        from docker.constants import DEFAULT_DOCKER_API_VERSION
        from docker.errors import DockerException
        from requests import RequestException
    except ImportError as exc:
        raise RuntimeUnavailable(f"the docker package is missing ({exc.name})") from exc
    base_url = f"unix://{path}"
    try:
        probe = docker.APIClient(base_url, DEFAULT_DOCKER_API_VERSION, timeout)
        try:
            ping = probe._get(probe._url("/_ping", versioned_api=False))  # unversioned
            ping.raise_for_status()
        finally:
            probe.close()
        version = ping.headers.get("Api-Version") or DEFAULT_DOCKER_API_VERSION
        client = docker.APIClient(base_url, version, timeout)
        try:
            return parse_listing(client.containers(), runtime_of(path))
        finally:
            client.close()
    except (DockerException, RequestException, OSError, ValueError, AttributeError) as exc:
        raise RuntimeUnavailable(short_reason(exc)) from exc


def short_reason(exc: BaseException) -> str:
    """The innermost reason: `Permission denied`, `Connection refused`, a timeout."""
    while exc.__context__ is not None and not isinstance(exc, OSError):
        exc = exc.__context__
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


class RuntimeUnavailable(Exception):
    """A runtime's API did not answer; the message says why."""


class Runtimes:
    """The containers the runtimes' APIs know, cached, and what they could not say.

    Used from one thread at a time (the poller's worker, or a lone snapshot).
    """

    def __init__(
        self,
        sockets: tuple[str, ...] | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.sockets = api_sockets() if sockets is None else sockets
        self._timeout = timeout
        self._known: dict[str, Container] = {}
        self._bindings: tuple[PortBinding, ...] = ()
        self._asked_at: float | None = None
        self._said: dict[str, str] = {}
        self._resting: dict[str, float] = {}
        """Sockets that failed, and until when they are not asked again: a hung API
        costs one timeout per `REFRESH_EVERY`, not one per poll."""
        self._placed: frozenset[object] = frozenset()
        self._asked_this_poll = False
        self._notes: list[str] = []
        self.generation = 0
        """Grows with every answer that changed a name, so cached owners can be renamed."""

    @property
    def bindings(self) -> tuple[PortBinding, ...]:
        """Every published port of the last answers."""
        return self._bindings

    def named(self, container: Container) -> Container:
        """`container` with its name, image and pod from the API, asking it first when
        the id is new to us (and not asked too recently)."""
        if container.id not in self._known and self._due(UNKNOWN_RETRY):
            self.refresh()
        known = self._known.get(container.id)
        if known is None:
            return container
        return replace(known, runtime=container.runtime, pod_uid=container.pod_uid)

    def begin_poll(self) -> None:
        """A poll starts: ask again if the last answer is `REFRESH_EVERY` old (only once
        something has needed the API: a host without containers never loads the SDK)."""
        self._asked_this_poll = False
        if self._asked_at is not None and self._due(REFRESH_EVERY):
            self.refresh()

    def placed(self, processes: frozenset[object]) -> None:
        """This poll's processes in a container or serving one (any hashable identity):
        if they changed, a container started or stopped, so ask again unless this poll
        already did."""
        changed = processes != self._placed
        self._placed = processes
        if changed and not self._asked_this_poll and (processes or self._asked_at is not None):
            self.refresh()

    def _due(self, age: float) -> bool:
        return self._asked_at is None or time.monotonic() - self._asked_at >= age

    def refresh(self) -> None:
        """Ask every API socket that exists (and did not fail lately); keep what
        answered, note what did not."""
        self._asked_at = time.monotonic()
        self._asked_this_poll = True
        known: dict[str, Container] = {}
        bindings: list[PortBinding] = []
        present = [path for path in self.sockets if os.path.exists(path)]
        if not present:
            self._say("*", f"no container runtime API ({', '.join(self.sockets)})")
        for path in present:
            if self._asked_at < self._resting.get(path, 0.0):
                continue
            try:
                listing = ask_api(path, self._timeout)
            except RuntimeUnavailable as exc:
                self._say(path, f"the container runtime API at {path} did not answer: {exc}")
                self._resting[path] = self._asked_at + REFRESH_EVERY
                continue
            self._resting.pop(path, None)
            self._said.pop(path, None)
            self._said.pop("*", None)
            known.update(listing.containers)
            bindings.extend(listing.bindings)
        if any(self._known.get(i) != c for i, c in known.items()):
            self.generation += 1
        self._known, self._bindings = known, tuple(bindings)

    def _say(self, where: str, reason: str) -> None:
        """Note `reason` unless it is what was last said about `where`."""
        if self._said.get(where) != reason:
            self._said[where] = reason
            self._notes.append(f"{reason}; containers are shown by id")

    def take_notes(self) -> list[str]:
        """What is new to say since the last call (each reason once)."""
        notes, self._notes = self._notes, []
        return notes


class ContainerOf:
    """The container each process runs in, named by the runtimes' API: for naming the
    network namespaces it lives in. The cgroup is read once per pid (a pid kept
    between discoveries is the same process: `keep_only` forgets the ones gone), and
    read again once the API's answer changed names."""

    def __init__(self, runtimes: Runtimes, proc_root: str = "/proc") -> None:
        self.runtimes = runtimes
        self.proc_root = proc_root
        self._placed: dict[int, Container | None] = {}
        self._generation = runtimes.generation

    def __call__(self, pid: int) -> Container | None:
        if self._generation != self.runtimes.generation:
            self._generation, self._placed = self.runtimes.generation, {}
        if pid not in self._placed:
            placement = read_placement(pid, self.proc_root)
            container = placement.container if placement else None
            self._placed[pid] = self.runtimes.named(container) if container else None
        return self._placed[pid]

    def keep_only(self, pids: Iterable[int]) -> None:
        """Forget every pid not among `pids` (those of the latest discovery)."""
        self._placed = {pid: self._placed[pid] for pid in pids if pid in self._placed}
