"""What each socket pane shows: its columns, and one socket turned into one row.

Every string from the system passes through `printable` here, and rows are drawn as
plain segments (never markup), so hostile process names stay inert text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from portscope.addresses import parse_ip
from portscope.analysis import AcceptQueue, Thresholds, listener_queue
from portscope.exposure import LABELS, bind_label, exposure_of
from portscope.knowledge import service_name
from portscope.model import Snapshot, Socket, proto_label
from portscope.sanitise import printable
from portscope.session import SshSession
from portscope.view.arrivals import Arrivals
from portscope.view.table_model import Column, Row, SortValue

NameOf = Callable[[str], "str | None"]
PortCounts = Mapping[tuple[str, int], int]
UNKNOWN = "?"
HIDDEN = "–"


@dataclass(frozen=True, slots=True)
class RowContext:
    """What a row needs besides its socket: the snapshot, peers per port, when each
    socket was first seen, names, and the thresholds that flag a filling accept queue."""

    snapshot: Snapshot
    connections_to: PortCounts
    arrivals: Arrivals
    session: SshSession | None = None
    name_of: NameOf | None = None
    thresholds: Thresholds | None = None


@lru_cache(maxsize=65_536)
def address_sort(address: str | None) -> bytes:
    """Addresses in numeric order (10.0.0.2 before 10.0.0.10), v4 before v6."""
    if not address:
        return b""
    ip = parse_ip(address)
    if ip is None:
        return b"\xff" + address.encode(errors="replace")
    return bytes((ip.version,)) + ip.packed


def _owner_cells(sock: Socket, privileged: bool) -> tuple[str, str, str]:
    owner = sock.owner
    if owner is None:
        return (UNKNOWN if privileged else HIDDEN), "", ""
    return _known_owner_cells(owner.pid, owner.name, owner.user)


@lru_cache(maxsize=8_192)
def _known_owner_cells(pid: int, name: str | None, user: str | None) -> tuple[str, str, str]:
    """Cached: thousands of sockets share a few owners, and a full rebuild formats 20k."""
    return printable(name, 40) or UNKNOWN, str(pid), printable(user, 24)


@lru_cache(maxsize=65_536)
def address_cell(address: str | None, limit: int | None = None) -> str:
    """An address (or peer name) made printable; cached, as few distinct ones repeat."""
    return printable(address, limit)


@lru_cache(maxsize=8_192)
def _service(port: int | None, proto: str) -> str:
    if port is None:
        return ""
    return printable(service_name(port, proto) or "", 24)


LISTENING_COLUMNS = (
    Column("proto", "proto", 6, priority=9),
    Column("address", "address", 13, priority=8, grow=True),
    Column("port", "port", 5, priority=10, align="right"),
    Column("iface", "iface", 6, priority=2),
    Column("exposure", "exposure", 14, priority=7),
    Column("service", "service", 9, priority=5),
    Column("process", "process", 12, priority=6, grow=True),
    Column("pid", "pid", 7, priority=3, align="right"),
    Column("user", "user", 8, priority=1),
    Column("conns", "conns", 5, priority=4, align="right"),
    Column("queue", "accept q", 9, priority=4, align="right"),
)
LISTENING_PROCESS = 6


def queue_cell(queue: AcceptQueue | None) -> str:
    """`3/128` waiting of backlog, `full 129/128`; empty while nothing waits."""
    if queue is None or not queue.queued:
        return ""
    backlog = "?" if queue.backlog is None else str(queue.backlog)
    return f"{'full ' if queue.full else ''}{queue.queued}/{backlog}"


Marker = tuple[str, str]
"""What a cell ends with to flag its row, long and short (`Row.marks`)."""
NO_MARKER: Marker = ("", "")
SSH_LISTENER: Marker = (" ◀ your ssh", " ◀ ssh")
SSH_CONNECTION: Marker = (" ◀ this session", " ◀ you")


def queue_marker(queue: AcceptQueue | None) -> Marker:
    """Beside the process name, so narrow panes that drop the queue column still say it."""
    if queue is None or queue.level == "ok":
        return NO_MARKER
    if queue.full:
        return (" ✖ queue full", " ✖ full")
    return (f" ▲ queue {queue.percent:.0f}%", f" ▲ {queue.percent:.0f}%")


def marked(text: str, *markers: Marker) -> tuple[str, tuple[str, ...] | None]:
    """`text` with its markers, and their forms for `Row.marks` (None without any)."""
    present = [marker for marker in markers if marker[0]]
    if not present:
        return text, None
    forms = tuple("".join(marker[form] for marker in present) for form in (0, 1))
    return text + forms[0], forms


def listening_row(sock: Socket, ctx: RowContext) -> Row:
    snapshot = ctx.snapshot
    exposure = exposure_of(sock.local_address)
    process, pid, user = _owner_cells(sock, snapshot.privileged)
    session = ctx.session is not None and ctx.session.is_listener(sock)
    queue = listener_queue(sock, ctx.thresholds)
    process, marks = marked(process, SSH_LISTENER if session else NO_MARKER, queue_marker(queue))
    conns = ctx.connections_to.get((sock.proto, sock.local_port), 0)
    iface = (
        "*" if exposure == "all" else printable(bind_label(sock.local_address, snapshot.interfaces))
    )
    cells = (
        proto_label(sock.proto, sock.family),
        address_cell(sock.local_address),
        str(sock.local_port),
        iface,
        LABELS[exposure],
        _service(sock.local_port, sock.proto),
        process,
        pid,
        user,
        str(conns),
        queue_cell(queue),
    )
    sort_values: tuple[SortValue, ...] = (
        cells[0],
        address_sort(sock.local_address),
        sock.local_port,
        iface,
        ("loopback", "interface", "all").index(exposure),
        cells[5].casefold(),
        process.casefold(),
        sock.pid or -1,
        user.casefold(),
        conns,
        round(queue.percent or 0) if queue is not None else -1,
    )
    tag = "exposed" if exposure == "all" else ("session" if session else "")
    if queue is not None and queue.level != "ok":
        tag = queue.level
    return Row(
        sock.key,
        cells,
        sort_values,
        tag=tag,
        payload=sock,
        marks=None if marks is None else {LISTENING_PROCESS: marks},
    )


EPHEMERAL_COLUMNS = (
    Column("proto", "proto", 6, priority=3),
    Column("local", "local address", 13, priority=1, grow=True),
    Column("lport", "lport", 6, priority=10, align="right"),
    Column("remote", "remote", 13, priority=9, grow=True),
    Column("rport", "rport", 6, priority=8, align="right"),
    Column("service", "service", 8, priority=4),
    Column("state", "state", 11, priority=7),
    Column("process", "process", 10, priority=6, grow=True),
    Column("pid", "pid", 7, priority=2, align="right"),
    Column("age", "age", 6, priority=5, align="right"),
)
AGE_COLUMN = 9
EPHEMERAL_PROCESS = 7


def ephemeral_row(sock: Socket, ctx: RowContext, first_seen: float, new: bool) -> Row:
    snapshot = ctx.snapshot
    process, pid, _user = _owner_cells(sock, snapshot.privileged)
    session = ctx.session is not None and ctx.session.is_connection(sock)
    process, marks = marked(process, SSH_CONNECTION if session else NO_MARKER)
    remote = sock.remote_address or ""
    name = ctx.name_of(remote) if ctx.name_of is not None and remote else None
    cells = (
        proto_label(sock.proto, sock.family),
        address_cell(sock.local_address),
        str(sock.local_port),
        address_cell(name or remote, 64),
        "" if sock.remote_port is None else str(sock.remote_port),
        _service(sock.remote_port, sock.proto),
        sock.state or "",
        process,
        pid,
        "",
    )
    sort_values: tuple[SortValue, ...] = (
        cells[0],
        address_sort(sock.local_address),
        sock.local_port,
        b"\xfe" + name.casefold().encode() if name else address_sort(remote),
        sock.remote_port or 0,
        cells[5].casefold(),
        cells[6],
        process.casefold(),
        sock.pid or -1,
        -first_seen,
    )
    return Row(
        sock.key,
        cells,
        sort_values,
        tag="session" if session else "",
        first_seen=first_seen,
        new=new,
        payload=sock,
        marks=None if marks is None else {EPHEMERAL_PROCESS: marks},
    )


PROCESS_COLUMNS = (
    Column("proto", "proto", 6, priority=5),
    Column("local", "local address", 15, priority=6, grow=True),
    Column("lport", "lport", 6, priority=10, align="right"),
    Column("remote", "remote", 15, priority=8, grow=True),
    Column("rport", "rport", 6, priority=7, align="right"),
    Column("state", "state", 11, priority=9),
)


def process_row(sock: Socket) -> Row:
    """A socket of the process on the detail screen."""
    remote = sock.remote_address or ""
    cells = (
        proto_label(sock.proto, sock.family),
        address_cell(sock.local_address),
        str(sock.local_port),
        address_cell(remote),
        "" if sock.remote_port is None else str(sock.remote_port),
        sock.state or ("bound" if sock.proto == "udp" else ""),
    )
    sort_values: tuple[SortValue, ...] = (
        cells[0],
        address_sort(sock.local_address),
        sock.local_port,
        address_sort(remote),
        sock.remote_port or 0,
        cells[5],
    )
    return Row(sock.key, cells, sort_values, payload=sock)


def row_text(row: Row, columns: tuple[Column, ...]) -> str:
    """A row as one line of `title=value` pairs, for the clipboard."""
    return "  ".join(f"{c.title}={v}" for c, v in zip(columns, row.cells, strict=True) if v)
