"""What each socket pane shows: its columns, and one socket turned into one row.

A table's columns are the shared ones (view/socket_cells.py), each given its place and
how it gives way here, plus the few only that table has. Rows are drawn as plain
segments (never markup), so hostile process names stay inert text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from portscope.analysis import AcceptQueue, Thresholds, listener_queue
from portscope.exposure import LABELS, REACH, bind_label, exposure_of, listener_exposure
from portscope.model import Snapshot, Socket
from portscope.sanitise import printable
from portscope.session import SshSession
from portscope.view.arrivals import Arrivals
from portscope.view.columns import Column, Columns, Row
from portscope.view.socket_cells import (
    LOCAL,
    LOCAL_PORT,
    NETNS,
    PID,
    PROCESS,
    PROTO,
    RECEIVED,
    REMOTE,
    REMOTE_PORT,
    SENT,
    USER,
    SocketFacts,
    netns_cell,
    owner_cells,
    pick,
    published_cell,
    queue_cell,
    row_age,
    service_column,
)
from portscope.view.traffic_cells import NOT_YET, RowTraffic, flag_marker

NameOf = Callable[[str], "str | None"]
PortCounts = Mapping[tuple[str, int, int], int]


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


LISTENING_COLUMNS: Columns[SocketFacts] = Columns(
    replace(PROTO, priority=9),
    replace(LOCAL, id="address", title="address", priority=8),
    replace(LOCAL_PORT, id="port", title="port", width=5, priority=10),
    replace(NETNS, priority=7),
    Column("iface", "iface", 6, priority=2, cell=pick("iface")),
    Column(
        "exposure",
        "exposure",
        14,
        priority=7,
        cell=lambda f: LABELS[f.exposure],
        sort=lambda f: REACH[f.exposure],
    ),
    replace(service_column(lambda s: s.local_port, 9), priority=5),
    replace(PROCESS, width=12, priority=6),
    replace(PID, priority=3),
    replace(USER, priority=1),
    Column(
        "conns",
        "conns",
        5,
        priority=4,
        align="right",
        cell=lambda f: str(f.conns),
        sort=lambda f: f.conns,
    ),
    Column(
        "queue",
        "accept q",
        9,
        priority=4,
        align="right",
        cell=lambda f: queue_cell(f.queue),
        sort=lambda f: round(f.queue.percent or 0) if f.queue is not None else -1,
    ),
)


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
    exposure = listener_exposure(sock, snapshot)
    process, pid, user = owner_cells(sock, snapshot.privileged)
    process = published_cell(process, sock, snapshot)
    session = ctx.session is not None and ctx.session.is_listener(sock)
    queue = listener_queue(sock, ctx.thresholds)
    process, marks = marked(process, SSH_LISTENER if session else NO_MARKER, queue_marker(queue))
    conns = ctx.connections_to.get((sock.proto, sock.local_port, sock.netns), 0)
    iface = (
        "*"
        if exposure_of(sock.local_address) == "all"
        else printable(bind_label(sock.local_address, snapshot.interfaces))
    )
    netns = netns_cell(snapshot, sock)
    facts = SocketFacts(
        sock,
        process,
        pid,
        user,
        exposure=exposure,
        iface=iface,
        conns=conns,
        queue=queue,
        netns=netns,
    )
    tag = "exposed" if exposure == "all" else ("session" if session else "")
    if queue is not None and queue.level != "ok":
        tag = queue.level
    return LISTENING_COLUMNS.row(
        sock.key,
        facts,
        tag=tag,
        payload=sock,
        marks=None if marks is None else {PROCESS.id: marks},
        netns=netns,
        exposure=exposure,
    )


EPHEMERAL_COLUMNS: Columns[SocketFacts] = Columns(
    replace(PROTO, priority=3),
    replace(LOCAL, priority=1),
    replace(LOCAL_PORT, priority=10),
    replace(REMOTE, priority=9),
    replace(REMOTE_PORT, priority=8),
    replace(NETNS, priority=6),
    replace(service_column(lambda s: s.remote_port, 8), priority=4),
    Column("state", "state", 11, priority=7, cell=lambda f: f.sock.state or ""),
    replace(PROCESS, priority=6),
    replace(PID, priority=2),
    replace(USER, priority=0),
    replace(RECEIVED, priority=5),
    replace(SENT, priority=5),
    Column(
        "age",
        "age",
        6,
        priority=5,
        align="right",
        sort=lambda f: -f.first_seen,
        live=row_age,
    ),
)


def ephemeral_row(
    sock: Socket, ctx: RowContext, first_seen: float, new: bool, traffic: RowTraffic = NOT_YET
) -> Row:
    """`traffic`: its rates and flags, which the flags' marker beside the process says
    (and a warning's colour) even where the rate columns do not fit."""
    process, pid, user = owner_cells(sock, ctx.snapshot.privileged)
    session = ctx.session is not None and ctx.session.is_connection(sock)
    process, marks = marked(process, SSH_CONNECTION if session else NO_MARKER, flag_marker(traffic))
    remote = sock.remote_address
    peer_name = ctx.name_of(remote) if ctx.name_of is not None and remote else None
    netns = netns_cell(ctx.snapshot, sock)
    facts = SocketFacts(
        sock,
        process,
        pid,
        user,
        first_seen=first_seen,
        peer_name=peer_name,
        traffic=traffic,
        netns=netns,
    )
    tag = "session" if session else ""
    if traffic.level != "ok":
        tag = traffic.level
    return EPHEMERAL_COLUMNS.row(
        sock.key,
        facts,
        tag=tag,
        first_seen=first_seen,
        new=new,
        payload=sock,
        marks=None if marks is None else {PROCESS.id: marks},
        netns=netns,
    )


PROCESS_COLUMNS: Columns[SocketFacts] = Columns(
    replace(PROTO, priority=5),
    replace(LOCAL, width=15, priority=6),
    replace(LOCAL_PORT, priority=10),
    replace(REMOTE, width=15, priority=8),
    replace(REMOTE_PORT, priority=7),
    Column(
        "state",
        "state",
        11,
        priority=9,
        cell=lambda f: f.sock.state or ("bound" if f.sock.proto == "udp" else ""),
    ),
)


def process_row(sock: Socket) -> Row:
    """A socket of the process on the detail screen."""
    return PROCESS_COLUMNS.row(sock.key, SocketFacts(sock), payload=sock)
