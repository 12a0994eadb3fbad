"""What a socket's cells say and how they sort: the columns the socket tables share.

A row's facts (owner names and markers, the peer's name, peer counts, the accept
queue) are worked out once per socket (`SocketFacts`); each column only picks its
cell and sort value from them, so building 20,000 rows stays one pass per row. The
shared columns here carry a default width rule; each table (view/rows.py) says how
they give way in it (`dataclasses.replace`). Every string from the system passes
through `printable` here, so hostile process names stay inert text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter

from portscope.addresses import parse_ip
from portscope.analysis import AcceptQueue
from portscope.exposure import Exposure
from portscope.knowledge import service_name
from portscope.model import Snapshot, Socket, proto_label
from portscope.sanitise import printable
from portscope.view.columns import Column, Row
from portscope.view.traffic_cells import (
    NOT_YET,
    RowTraffic,
    received_cell,
    received_order,
    sent_cell,
    sent_order,
)

UNKNOWN = "?"
HIDDEN = "–"


@dataclass(slots=True)
class SocketFacts:
    """A socket and what its row says beyond the socket itself, worked out once:
    the owner's cells (`process` with its markers), when the row was first seen, the
    peer's name, for a connection its traffic, and for a listener its exposure,
    interface, peers and accept queue."""

    sock: Socket
    process: str = ""
    pid: str = ""
    user: str = ""
    first_seen: float = 0.0
    peer_name: str | None = None
    exposure: Exposure = "all"
    iface: str = ""
    conns: int = 0
    queue: AcceptQueue | None = None
    traffic: RowTraffic = NOT_YET
    netns: str = ""
    """The name of the socket's network namespace, printable."""


@lru_cache(maxsize=65_536)
def address_sort(address: str | None) -> bytes:
    """Addresses in numeric order (10.0.0.2 before 10.0.0.10), v4 before v6."""
    if not address:
        return b""
    ip = parse_ip(address)
    if ip is None:
        return b"\xff" + address.encode(errors="replace")
    return bytes((ip.version,)) + ip.packed


def owner_cells(sock: Socket, privileged: bool) -> tuple[str, str, str]:
    """The process (with the container or unit it runs in: `python3 (web1)`), pid and
    user cells; `?` for an owner unknown though privileged, `–` for one hidden from an
    unprivileged run."""
    owner = sock.owner
    if owner is None:
        return (UNKNOWN if privileged else HIDDEN), "", ""
    return _known_owner_cells(owner.pid, owner.name, owner.user, owner.where)


@lru_cache(maxsize=8_192)
def _known_owner_cells(
    pid: int, name: str | None, user: str | None, where: str | None
) -> tuple[str, str, str]:
    """Cached: thousands of sockets share a few owners, and a full rebuild formats 20k."""
    process = printable(name, 40) or UNKNOWN
    if where:
        process = f"{process} ({printable(where, 40)})"
    return process, str(pid), printable(user, 24)


def published_cell(process: str, sock: Socket, snapshot: Snapshot) -> str:
    """A listener's process cell with what it does for a published port: a host
    helper's reads as the mapping (`→ web2:8082 (python3)`), a container's says the
    host ports that reach it (`python3 (web2) ← 127.0.0.1:18082`)."""
    publications = snapshot.publications(sock)
    if not publications:
        return process
    held = snapshot.held_for(sock)
    if held is not None:
        return f"→ {printable(held.target, 80)}"
    hosts = ", ".join(p.host_side for p in publications)
    return f"{process} ← {printable(hosts, 80)}"


@lru_cache(maxsize=65_536)
def address_cell(address: str | None, limit: int | None = None) -> str:
    """An address (or peer name) made printable; cached, as few distinct ones repeat."""
    return printable(address, limit)


@lru_cache(maxsize=8_192)
def service_cell(port: int | None, proto: str) -> str:
    if port is None:
        return ""
    return printable(service_name(port, proto) or "", 24)


def service_column(port: Callable[[Socket], int | None], width: int) -> Column[SocketFacts]:
    """The name the services data gives `port` of the socket (its own, or its peer's),
    sorted without regard to case."""

    def cell(f: SocketFacts) -> str:
        return service_cell(port(f.sock), f.sock.proto)

    return Column("service", "service", width, cell=cell, sort=lambda f: cell(f).casefold())


def queue_cell(queue: AcceptQueue | None) -> str:
    """`3/128` waiting of backlog, `full 129/128`; empty while nothing waits."""
    if queue is None or not queue.queued:
        return ""
    backlog = "?" if queue.backlog is None else str(queue.backlog)
    return f"{'full ' if queue.full else ''}{queue.queued}/{backlog}"


def format_age(seconds: float) -> str:
    """Compact age: 42s, 3m05s, 2h07m, 3d04h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def row_age(row: Row, now: float) -> str:
    """How long ago the row's socket was first seen, as the clock reads now."""
    return format_age(now - row.first_seen)


def _remote(f: SocketFacts) -> str:
    """The peer's name when one is known, else its address."""
    return address_cell(f.peer_name or f.sock.remote_address or "", 64)


def _remote_order(f: SocketFacts) -> bytes:
    """Names after every address, in their own (casefolded) order."""
    if f.peer_name:
        return b"\xfe" + f.peer_name.casefold().encode()
    return address_sort(f.sock.remote_address or "")


Cell = Callable[[SocketFacts], str]
pick: Callable[[str], Cell] = attrgetter
"""A cell that is one of the facts as they are: picked in C, as 20,000 rows call it."""


def netns_cell(snapshot: Snapshot, sock: Socket) -> str:
    """Where the socket lives, named as the snapshot names its namespace (a container's
    name, once a namer gives one), printable."""
    return address_cell(snapshot.namespace_name(sock.netns), NETNS_WIDTH * 4)


NETNS_WIDTH = 12
NETNS = Column("netns", "netns", NETNS_WIDTH, cell=pick("netns"), situational=True)
"""Shown only while the table lists sockets of more than one namespace: on a host
without containers it would say `host` on every row."""

PROTO: Column[SocketFacts] = Column(
    "proto", "proto", 6, cell=lambda f: proto_label(f.sock.proto, f.sock.family)
)
LOCAL: Column[SocketFacts] = Column(
    "local",
    "local address",
    13,
    grow=True,
    cell=lambda f: address_cell(f.sock.local_address),
    sort=lambda f: address_sort(f.sock.local_address),
)
LOCAL_PORT: Column[SocketFacts] = Column(
    "lport",
    "lport",
    6,
    align="right",
    cell=lambda f: str(f.sock.local_port),
    sort=lambda f: f.sock.local_port,
)
REMOTE: Column[SocketFacts] = Column(
    "remote", "remote", 13, grow=True, cell=_remote, sort=_remote_order
)
REMOTE_PORT: Column[SocketFacts] = Column(
    "rport",
    "rport",
    6,
    align="right",
    cell=lambda f: "" if f.sock.remote_port is None else str(f.sock.remote_port),
    sort=lambda f: f.sock.remote_port or 0,
)
PROCESS: Column[SocketFacts] = Column(
    "process",
    "process",
    10,
    grow=True,
    cell=pick("process"),
    sort=lambda f: f.process.casefold(),
)
PID: Column[SocketFacts] = Column(
    "pid", "pid", 7, align="right", cell=pick("pid"), sort=lambda f: f.sock.pid or -1
)
USER: Column[SocketFacts] = Column(
    "user", "user", 8, cell=pick("user"), sort=lambda f: f.user.casefold()
)
RECEIVED: Column[SocketFacts] = Column(
    "rx",
    "rx/s",
    5,
    align="right",
    cell=lambda f: received_cell(f.traffic),
    sort=lambda f: received_order(f.traffic),
)
"""Bytes received a second over the last interval; `—` without counters (UDP)."""
SENT: Column[SocketFacts] = Column(
    "tx",
    "tx/s",
    5,
    align="right",
    cell=lambda f: sent_cell(f.traffic),
    sort=lambda f: sent_order(f.traffic),
)
"""Bytes sent (acknowledged by the peer) a second over the last interval."""
