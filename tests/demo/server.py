"""A small, fixed server for screenshots and deterministic dashboard tests.

`ScriptedSource` is a collect function for the real `Poller`: it hands out prepared
snapshots in order, so every pixel of a screenshot is reproducible. Addresses are
from the documentation ranges (RFC 5737, RFC 3849); nothing here touches the OS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from portscope.model import (
    EphemeralRange,
    Gateway,
    Interface,
    InterfaceTable,
    Owner,
    Snapshot,
    Socket,
)
from portscope.processes import ProcessDetails

DEMO_TIME = 1_790_000_000.0
DEMO_HOST = "web-01"
SERVER_IP = "192.0.2.10"
CLIENT_IP = "198.51.100.7"
SSH_CONNECTION = f"{CLIENT_IP} 50522 {SERVER_IP} 22"
HOSTILE_NAME = "[bold red]evil\x1b[31m\u202e"

INTERFACES = InterfaceTable(
    interfaces=(
        Interface("lo", ("127.0.0.1", "::1")),
        Interface("eth0", (SERVER_IP, "2001:db8::10")),
    ),
    gateways=(Gateway("ipv4", "192.0.2.1", "eth0"),),
)
RANGE = EphemeralRange(32768, 60999, frozenset({60000}), "/proc/sys/net/ipv4/ip_local_port_range")


def _owner(pid: int, name: str, user: str, *args: str) -> Owner:
    return Owner(pid, name, user, (name, *args), DEMO_TIME - 86_400 + pid)


SYSTEMD = _owner(1, "systemd", "root", "--system")
SSHD = _owner(812, "sshd", "root", "-D")
NGINX = _owner(1204, "nginx", "www-data", "-g", "daemon off;")
POSTGRES = _owner(1377, "postgres", "postgres", "-D", "/var/lib/postgresql/16/main")
REDIS = _owner(1420, "redis-server", "redis", "::1:6379")
NODE = _owner(2210, "node", "app", "server.js")
VITE = _owner(3105, "vite", "dev", "--port", "60630")
CURL = _owner(4242, "curl", "dev", "https://example.org/")
PYTHON = _owner(4301, "python3", "app", "worker.py")
HOSTILE = _owner(6666, HOSTILE_NAME, "nobody", HOSTILE_NAME)
DEMO_OWNERS = (SYSTEMD, SSHD, NGINX, POSTGRES, REDIS, NODE, VITE, CURL, PYTHON, HOSTILE)


def demo_details(owner: Owner) -> ProcessDetails | None:
    """What the detail screen shows for a demo process (its pids are not real ones, so
    /proc has nothing to say about them); None for any other process."""
    if owner not in DEMO_OWNERS:
        return None
    parent = (None, None) if owner is SYSTEMD else (SYSTEMD.pid, SYSTEMD.name)
    return ProcessDetails(
        owner,
        owner.cmdline,
        owner.user,
        owner.create_time,
        cwd="/",
        exe=f"/usr/bin/{owner.name}",
        parent_pid=parent[0],
        parent_name=parent[1],
        status="sleeping",
    )


def _listen(
    proto: str, address: str, port: int, owner: Owner | None, inode: int, family: str = "ipv4"
) -> Socket:
    state = "LISTEN" if proto == "tcp" else None
    return Socket(proto, family, address, port, None, None, state, owner, inode)  # type: ignore[arg-type]


def _conn(
    local: str, lport: int, remote: str, rport: int, owner: Owner | None, state: str = "ESTABLISHED"
) -> Socket:
    family = "ipv6" if ":" in local else "ipv4"
    return Socket("tcp", family, local, lport, remote, rport, state, owner)


LISTENERS = (
    _listen("tcp", "0.0.0.0", 22, SSHD, 1001),
    _listen("tcp", "0.0.0.0", 80, NGINX, 1002),
    _listen("tcp", "0.0.0.0", 443, NGINX, 1003),
    _listen("tcp", "127.0.0.1", 5432, POSTGRES, 1004),
    _listen("tcp", "::1", 6379, REDIS, 1005, family="ipv6"),
    _listen("tcp", SERVER_IP, 3000, NODE, 1006),
    _listen("tcp", "127.0.0.1", 60630, VITE, 1007),
    _listen("tcp", "127.0.0.1", 631, SYSTEMD, 1008),
    _listen("udp", "127.0.0.53", 53, None, 1009),
    _listen("tcp", "127.0.0.1", 9999, HOSTILE, 1010),
)

CONNECTIONS = (
    _conn(SERVER_IP, 22, CLIENT_IP, 50522, SSHD),
    _conn(SERVER_IP, 443, "203.0.113.44", 51234, NGINX),
    _conn(SERVER_IP, 443, "203.0.113.45", 40112, NGINX),
    _conn(SERVER_IP, 41822, "203.0.113.80", 443, CURL),
    _conn(SERVER_IP, 45010, "203.0.113.9", 5432, PYTHON),
    _conn("127.0.0.1", 52344, "127.0.0.1", 5432, NODE),
    _conn("127.0.0.1", 5432, "127.0.0.1", 52344, POSTGRES),
    _conn("127.0.0.1", 52346, "127.0.0.1", 6379, NODE, "TIME_WAIT"),
    _conn("127.0.0.1", 53012, "127.0.0.1", 60630, CURL),
    _conn("127.0.0.1", 60630, "127.0.0.1", 53012, VITE),
)

LATER_CONNECTIONS = (
    _conn(SERVER_IP, 46001, "203.0.113.12", 443, PYTHON),
    _conn(SERVER_IP, 46002, "203.0.113.12", 443, PYTHON, "SYN_SENT"),
)


def demo_snapshot(
    step: int = 0, privileged: bool = False, unattributed: int = 3, taken_at: float = DEMO_TIME
) -> Snapshot:
    """Step 0 is the base server; step 1 opens two connections and closes curl's."""
    connections = CONNECTIONS
    if step >= 1:
        connections = tuple(c for c in CONNECTIONS if c.owner is not CURL) + LATER_CONNECTIONS
    return Snapshot(
        taken_at=taken_at,
        host=DEMO_HOST,
        privileged=privileged,
        ephemeral_range=RANGE,
        listeners=LISTENERS,
        connections=connections,
        unattributed=unattributed,
        source="demo",
        interfaces=INTERFACES,
    )


class ScriptedSource:
    """A collect function that returns `snapshots` in order, then repeats the last."""

    def __init__(self, snapshots: Sequence[Snapshot]) -> None:
        self.snapshots = list(snapshots)
        self.calls = 0

    def __call__(self) -> Snapshot:
        index = min(self.calls, len(self.snapshots) - 1)
        self.calls += 1
        return self.snapshots[index]


def with_sockets(snapshot: Snapshot, *extra: Socket) -> Snapshot:
    """`snapshot` plus more connections or listeners."""
    listeners = tuple(s for s in extra if s.is_listener)
    connections = tuple(s for s in extra if not s.is_listener)
    return replace(
        snapshot,
        listeners=snapshot.listeners + listeners,
        connections=snapshot.connections + connections,
    )
