"""Socket churn inside a fresh network namespace, one snapshot after each step.

Run as `unshare --net python tally_scenario.py OUT` (root): the namespace holds only
the sockets made here, so nothing else changes the listeners between two polls and the
tallies really follow each Delta. The snapshots are pickled to OUT for the test.
"""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from portscope.collect import Collector
from sockets import SocketFarm

Pair = tuple[socket.socket, socket.socket]


class Held:
    """The scenario's listeners by name, and the open pairs of each, oldest first."""

    def __init__(self, farm: SocketFarm) -> None:
        self.farm = farm
        self.listeners: dict[str, socket.socket] = {}
        self.pairs: dict[str, list[Pair]] = {}

    def listen(self, name: str, host: str = "127.0.0.1") -> None:
        self.listeners[name] = self.farm.tcp_listener(host)
        self.pairs[name] = []

    def connect(self, name: str, count: int) -> None:
        self.pairs[name] += self.farm.connect(self.listeners[name], count)


def start(held: Held) -> None:
    held.listen("web")
    held.connect("web", 6)
    server = held.farm.udp_socket()
    held.listeners["dns"] = server
    held.farm.udp_socket().connect(server.getsockname())


def churn(held: Held, name: str) -> None:
    """Close two pairs seen in the last poll both ways, client first (the client side
    stays in TIME_WAIT), leak a third (its server side stays in CLOSE_WAIT), open more."""
    farm, pairs = held.farm, held.pairs[name]
    for client, server in pairs[:2]:
        farm.release(client)
        farm.release(server)
    farm.release(pairs[2][0])
    del pairs[:3]
    held.connect(name, 4)


def churn_web(held: Held) -> None:
    churn(held, "web")


def new_listener(held: Held) -> None:
    """A listener appears: which sockets count changes, so the tallies recount."""
    held.listen("api", "127.0.0.2")
    held.connect("api", 5)
    churn(held, "web")


def listener_gone(held: Held) -> None:
    held.farm.release(held.listeners.pop("web"))
    held.connect("api", 2)
    held.farm.udp_socket().connect(held.listeners["dns"].getsockname())


def churn_api(held: Held) -> None:
    churn(held, "api")


STEPS: tuple[Callable[[Held], None], ...] = (
    start,
    churn_web,
    churn_web,
    new_listener,
    listener_gone,
    churn_api,
    churn_api,
)
SAME_LISTENERS = ((1, 2), (2, 3), (5, 6), (6, 7))
"""Pairs of polls (counted from 1) between which the listeners stay the same."""


def main(out: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    collector = Collector()
    with SocketFarm() as farm:
        held = Held(farm)
        snapshots = []
        for step in STEPS:
            step(held)
            snapshots.append(collector.collect())
    out.write_bytes(pickle.dumps(snapshots))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
