"""The History view's table: one row per recorded connection or listener event.

The cells are `view.history`'s words, the ones `portscope history` prints. Each row
also carries the record as the socket it was (`as_socket`), so the `/` box's
expressions (`sport = 60630`, `process = curl`, `dst 203.0.113.9`) test a closed
connection as they test a live one in the panes. A `netns` column names each row's
network namespace, laid out only while the rows come from more than one (as the
panes' netns column is: `view.socket_cells.NETNS`), and the filter's `netns` field
reads it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from portscope.exposure import exposure_label
from portscope.history.records import ClosedConnection, ListenerEvent, Who
from portscope.model import LISTEN, Owner, Snapshot, Socket, proto_label
from portscope.sanitise import printable
from portscope.view.columns import Column, Columns, Row
from portscope.view.history import (
    connection_event,
    lifetime_text,
    listener_event_word,
    listener_owner,
    listener_state,
    listener_where,
    netns_text,
    owner_text,
    remote_text,
    short_clock,
    size_text,
    stamp,
)
from portscope.view.socket_cells import NETNS, address_sort

HistoryItem = ClosedConnection | ListenerEvent
TEXT_LIMIT = 60
"""Characters of a process name or address shown in a cell."""


def at(item: HistoryItem) -> float:
    return item.closed if isinstance(item, ClosedConnection) else item.at


def _when(item: HistoryItem) -> str:
    """The whole time, for the filter to find (`03:12`, `2026-11-27`)."""
    return stamp(at(item))


def _clock(row: Row, now: float) -> str:
    """What the time column shows: today's as 03:12:07, an earlier day's as 11-27 03:12."""
    return short_clock(at(row.subject), now)  # type: ignore[arg-type]


def _event(item: HistoryItem) -> str:
    if isinstance(item, ClosedConnection):
        return connection_event(item)
    return listener_event_word(item)


def _local(item: HistoryItem) -> str:
    if isinstance(item, ClosedConnection):
        return printable(item.local, TEXT_LIMIT)
    return printable(listener_where(item), TEXT_LIMIT)


def _remote(item: HistoryItem) -> str:
    if isinstance(item, ClosedConnection):
        return printable(remote_text(item), TEXT_LIMIT)
    return exposure_label(item.exposure)


def _state(item: HistoryItem) -> str:
    return (item.state or "") if isinstance(item, ClosedConnection) else listener_state(item)


def _lifetime(item: HistoryItem) -> str:
    return lifetime_text(item) if isinstance(item, ClosedConnection) else ""


def _lifetime_order(item: HistoryItem) -> int:
    lifetime = item.lifetime if isinstance(item, ClosedConnection) else None
    return -1 if lifetime is None else round(lifetime * 1000)


def _sent(item: HistoryItem) -> str:
    return size_text(item.sent) if isinstance(item, ClosedConnection) else ""


def _received(item: HistoryItem) -> str:
    return size_text(item.received) if isinstance(item, ClosedConnection) else ""


def _sent_order(item: HistoryItem) -> int:
    sent = item.sent if isinstance(item, ClosedConnection) else None
    return -1 if sent is None else sent


def _received_order(item: HistoryItem) -> int:
    received = item.received if isinstance(item, ClosedConnection) else None
    return -1 if received is None else received


def _process(item: HistoryItem) -> str:
    who = owner_text(item) if isinstance(item, ClosedConnection) else listener_owner(item)
    return printable(who, TEXT_LIMIT)


def _local_order(item: HistoryItem) -> bytes:
    socket = as_socket(item)
    return address_sort(socket.local_address) + socket.local_port.to_bytes(2, "big")


HISTORY_COLUMNS: Columns[HistoryItem] = Columns(
    Column("time", "time", 11, priority=10, cell=_when, sort=lambda i: round(at(i) * 1000),
           live=_clock),
    Column("event", "event", 9, priority=8, cell=_event),
    Column("proto", "proto", 5, priority=4, cell=lambda i: proto_label(i.proto, i.family)),
    replace(NETNS, priority=7, cell=lambda i: printable(netns_text(i), TEXT_LIMIT)),
    Column("local", "local", 15, priority=8, grow=True, cell=_local, sort=_local_order),
    Column("remote", "remote", 22, priority=9, grow=True, cell=_remote),
    Column("state", "state", 11, priority=3, cell=_state),
    Column("for", "for", 8, priority=6, align="right", cell=_lifetime, sort=_lifetime_order),
    Column("sent", "sent", 8, priority=2, align="right", cell=_sent, sort=_sent_order),
    Column("recv", "recv", 8, priority=2, align="right", cell=_received, sort=_received_order),
    Column("process", "process", 15, priority=9, grow=True, cell=_process),
)  # fmt: skip


def owner_of(who: Who | None) -> Owner | None:
    """A recorded process as the model's owner (a pid is what an owner is known by)."""
    if who is None or who.pid is None:
        return None
    return Owner(who.pid, who.process, who.user)


def as_socket(item: HistoryItem) -> Socket:
    """The socket the record was: a connection in the state it reached, a listener in
    LISTEN (a UDP one on a lent port as port 0)."""
    if isinstance(item, ClosedConnection):
        return Socket(
            item.proto, item.family, item.local_address, item.local_port,
            item.remote_address, item.remote_port,
            state=item.state if item.proto == "tcp" else None,
            owner=owner_of(item.owner), uid=item.uid,
        )  # fmt: skip
    return Socket(
        item.proto, item.family, item.address, item.port or 0,
        state=LISTEN if item.proto == "tcp" else None, owner=owner_of(item.owner), uid=item.uid,
    )  # fmt: skip


def history_rows(items: Iterable[HistoryItem]) -> list[Row]:
    """A row per record; records alike in every field (two ends in one millisecond)
    are told apart by their count."""
    seen: Counter[HistoryItem] = Counter()
    rows = []
    for item in items:
        seen[item] += 1
        rows.append(
            HISTORY_COLUMNS.row(
                (item, seen[item]), item, payload=as_socket(item), netns=netns_text(item)
            )
        )
    return rows


def live_owner(item: HistoryItem, snapshot: Snapshot | None) -> tuple[Owner, Socket] | None:
    """The recorded process and a socket of it, if a process of that pid and name holds
    one in `snapshot` (a pid alone may be another process's by now)."""
    who = item.owner
    if who is None or who.pid is None or snapshot is None:
        return None
    for sock in snapshot.sockets:
        owner = sock.owner
        if owner is not None and owner.pid == who.pid and owner.name == who.process:
            return owner, sock
    return None


def port_of(item: HistoryItem) -> int | None:
    """The port a lookup is asked about: this machine's end of the row (None: a UDP
    listener on a port the kernel lent)."""
    return item.local_port if isinstance(item, ClosedConnection) else item.port
