"""The runtime API's client without containers: a host with none never loads the
Docker SDK, and a socket nobody serves is said once. (With real containers and the API
Podman serves: tests/test_containers.py.)"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from conftest import needs_root, run_with_tree
from portscope.collect.runtime import Runtimes

ONE_POLL = (
    "import sys; from portscope.collect import Collector; snapshot = Collector().collect(); "
    "print(len(snapshot.listeners), 'docker' in sys.modules)"
)


@needs_root
def test_a_host_without_containers_never_loads_the_sdk() -> None:
    """In a pid namespace of its own (its /proc shows none of the host's containers or
    conmons), one poll places no process in a container, so nothing imports `docker`."""
    done = run_with_tree(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                          ONE_POLL])  # fmt: skip
    assert done.returncode == 0, done.stderr
    listeners, loaded = done.stdout.split()
    assert int(listeners) > 0 and loaded == "False"


def test_an_api_socket_nobody_serves_is_said_once(tmp_path: Path) -> None:
    """A socket file left behind by a stopped service: connecting is refused."""
    path = str(tmp_path / "docker.sock")
    with socket.socket(socket.AF_UNIX) as left:
        left.bind(path)
    runtimes = Runtimes(sockets=(path,))
    runtimes.refresh()
    (note,) = runtimes.take_notes()
    assert note.startswith(f"the container runtime API at {path} did not answer: ")
    assert "refused" in note.lower()
    runtimes.refresh()
    assert runtimes.take_notes() == [] and runtimes.bindings == ()


def test_a_hung_api_costs_one_timeout_and_is_left_alone_after(tmp_path: Path) -> None:
    """A server that accepts and never answers: the ask gives up at the timeout, says
    so once, and the next refresh does not ask it again (one connection in all)."""
    path = str(tmp_path / "podman.sock")
    with socket.socket(socket.AF_UNIX) as hung:
        hung.bind(path)
        hung.listen(8)
        runtimes = Runtimes(sockets=(path,), timeout=0.2)
        runtimes.refresh()
        (note,) = runtimes.take_notes()
        assert "timed out" in note.lower(), note
        runtimes.refresh()
        assert runtimes.take_notes() == []
        hung.setblocking(False)
        accepted = []
        while True:
            try:
                accepted.append(hung.accept()[0])
            except BlockingIOError:
                break
        for connection in accepted:
            connection.close()
    assert len(accepted) == 1
