"""A mixed loopback workload with every socket shape the collector must classify.

The expected records come from the sockets' own getsockname()/getpeername() and from
what each step did to them, never from the collector under test.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from portscope.model import Socket
from sockets import SocketFarm
from ss import ss_sockets

SETTLE_PATIENCE = 5.0

Record = tuple[str, str, str, int, "str | None", "int | None", "str | None", "int | None"]
"""(proto, family, local_address, local_port, remote_address, remote_port, state, pid)."""


def describe(sock: socket.socket, proto: str, state: str | None, owned: bool = True) -> Record:
    """The record a live socket should produce; `owned=False` once no process holds it."""
    local, lport = sock.getsockname()[:2]
    try:
        remote, rport = sock.getpeername()[:2]
    except OSError:
        remote, rport = None, None
    family = "ipv6" if sock.family == socket.AF_INET6 else "ipv4"
    pid = os.getpid() if owned else None
    return (proto, family, local, lport, remote, rport, state, pid)


def peer_side(record: Record, state: str) -> Record:
    """The other end of a connection: addresses swapped, held by no process."""
    proto, family, local, lport, remote, rport, _state, _pid = record
    assert remote is not None and rport is not None
    return (proto, family, remote, rport, local, lport, state, None)


@dataclass
class Workload:
    """What the test opened: every expected socket, and which local ports the kernel chose."""

    listeners: set[Record] = field(default_factory=set)
    connections: set[Record] = field(default_factory=set)
    kernel_chosen: set[tuple[str, int]] = field(default_factory=set)
    endpoints: set[tuple[str, int]] = field(default_factory=set)

    def mine(self, local: tuple[str, int], remote: tuple[str | None, int | None]) -> bool:
        """Whether a socket belongs to this workload: one of its ends is an address and
        port the workload listens on. Other processes share this network namespace, and
        may use the same port numbers on other addresses."""
        return local in self.endpoints or remote in self.endpoints


class WorkloadBuilder:
    """Opens sockets in a farm and writes down what each one should look like."""

    def __init__(self, farm: SocketFarm) -> None:
        self.farm = farm
        self.work = Workload()

    def _listening(self, sock: socket.socket, proto: str) -> socket.socket:
        self.work.listeners.add(describe(sock, proto, "LISTEN" if proto == "tcp" else None))
        address, port = sock.getsockname()[:2]
        self.work.endpoints.add((address, port))
        if address == "::":
            self.work.endpoints |= {("127.0.0.1", port), ("::ffff:127.0.0.1", port), ("::1", port)}
        return sock

    def _connected(self, record: Record, kernel_chosen: bool) -> None:
        self.work.connections.add(record)
        if kernel_chosen:
            self.work.kernel_chosen.add((record[0], record[3]))

    def tcp_listener(self, host: str, v6only: bool = True) -> socket.socket:
        return self._listening(self.farm.tcp_listener(host, v6only=v6only), "tcp")

    def udp_listener(self, host: str) -> socket.socket:
        return self._listening(self.farm.udp_socket(host), "udp")

    def established(self, listener: socket.socket, count: int, host: str | None = None) -> None:
        """`count` open pairs; the client's port is the kernel's choice."""
        for client, server in self.farm.connect(listener, count, host):
            self._connected(describe(client, "tcp", "ESTABLISHED"), kernel_chosen=True)
            self._connected(describe(server, "tcp", "ESTABLISHED"), kernel_chosen=False)

    def time_wait(self, listener: socket.socket, count: int) -> None:
        """Client closes first, then the server: the client's end lingers in TIME_WAIT."""
        for client, server in self.farm.connect(listener, count):
            record = describe(client, "tcp", "TIME_WAIT", owned=False)
            self.farm.release(client)
            self.farm.release(server)
            self._connected(record, kernel_chosen=True)

    def close_wait(self, listener: socket.socket, count: int) -> None:
        """Only the client closes: its orphan end waits in FIN_WAIT2 while the server
        end, still held, sits in CLOSE_WAIT."""
        for client, server in self.farm.connect(listener, count):
            record = describe(client, "tcp", "FIN_WAIT2", owned=False)
            self.farm.release(client)
            self._connected(record, kernel_chosen=True)
            self._connected(describe(server, "tcp", "CLOSE_WAIT"), kernel_chosen=False)

    def syn_sent(self, count: int) -> None:
        """A listener with backlog 0: the first client fills the accept queue (both ends
        ESTABLISHED, the unaccepted one held by nobody); the rest wait in SYN_SENT."""
        listener = self.tcp_listener("127.0.0.1")
        listener.listen(0)
        remote, rport = listener.getsockname()[:2]
        for i, client in enumerate(self.farm.connect_pending(listener, count + 1)):
            local, lport = client.getsockname()[:2]
            state = "SYN_SENT" if i else "ESTABLISHED"
            record: Record = ("tcp", "ipv4", local, lport, remote, rport, state, os.getpid())
            self._connected(record, kernel_chosen=True)
            if not i:
                self._connected(peer_side(record, "ESTABLISHED"), kernel_chosen=False)

    def udp_connected(self, peer: socket.socket) -> None:
        """A UDP socket connect()ed to `peer`: a connection with no state, kernel-chosen port."""
        sock = self.farm.udp_socket(peer.getsockname()[0])
        sock.connect(peer.getsockname()[:2])
        self._connected(describe(sock, "udp", None), kernel_chosen=True)


def settle(work: Workload) -> None:
    """Wait (bounded) until `ss` shows every expected socket, e.g. a closed client end
    that has reached FIN_WAIT2 only once the peer's ACK arrived."""
    expected = {(r[0], *r[2:]) for r in work.listeners | work.connections}
    deadline = time.monotonic() + SETTLE_PATIENCE
    while not expected <= ss_sockets() and time.monotonic() < deadline:
        time.sleep(0.05)


def mixed(farm: SocketFarm, established: int = 200, v6: bool = True) -> Workload:
    """Listeners of every kind and `established` pairs plus a few of each other state."""
    build = WorkloadBuilder(farm)
    v4 = build.tcp_listener("127.0.0.1")
    build.tcp_listener("0.0.0.0")
    udp = build.udp_listener("127.0.0.1")
    build.established(v4, established // 2)
    build.time_wait(v4, 5)
    build.close_wait(v4, 5)
    build.syn_sent(3)
    build.udp_connected(udp)
    if v6:
        v6_listener = build.tcp_listener("::1")
        dual = build.tcp_listener("::", v6only=False)
        udp6 = build.udp_listener("::1")
        build.established(v6_listener, established // 4)
        build.established(dual, established - established // 2 - established // 4, "127.0.0.1")
        build.udp_connected(udp6)
    settle(build.work)
    return build.work


def snapshot_records(sockets: Iterable[Socket]) -> set[Record]:
    """The collector's sockets in the workload's terms."""
    return {
        (
            s.proto,
            s.family,
            s.local_address,
            s.local_port,
            s.remote_address,
            s.remote_port,
            s.state,
            s.pid,
        )
        for s in sockets
    }


def json_records(doc: dict[str, Any]) -> set[Record]:
    """`portscope snapshot --json` in the workload's terms."""
    listening = {
        (
            r["proto"],
            r["family"],
            r["address"],
            r["port"],
            None,
            None,
            "LISTEN" if r["proto"] == "tcp" else None,
            r["pid"],
        )
        for r in doc["listening"]
    }
    connected = {
        (
            r["proto"],
            r["family"],
            r["local_address"],
            r["local_port"],
            r["remote_address"],
            r["remote_port"],
            r["state"],
            r["pid"],
        )
        for r in doc["connections"]
    }
    return listening | connected
