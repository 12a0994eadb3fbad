"""Histories for tests, written through the recorder's own store (`Store.write`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from portscope.history.records import Batch, ClosedConnection, ListenerEvent, Who
from portscope.history.store import Store

CURL = Who(4121, "curl", "alice")
NGINX = Who(812, "nginx", "www-data")


def connection(
    closed: float,
    local_port: int,
    remote: str = "203.0.113.9",
    remote_port: int = 443,
    owner: Who | None = CURL,
    **more: object,
) -> ClosedConnection:
    """An outgoing TCP connection from 192.0.2.10 that ended at `closed`."""
    fields: dict[str, object] = {
        "proto": "tcp",
        "family": "ipv4",
        "local_address": "192.0.2.10",
        "local_port": local_port,
        "remote_address": remote,
        "remote_port": remote_port,
        "closed": closed,
        "ended": "kernel",
        "accepted": False,
        "state": "ESTABLISHED",
        "lifetime": 0.4,
        "bound": "at least",
        "sent": 517,
        "received": 4100,
        "owner": owner,
        "owner_from": "socket" if owner else None,
        **more,
    }
    return ClosedConnection(**fields)  # type: ignore[arg-type]


def write_history(
    path: Path,
    connections: Iterable[ClosedConnection] = (),
    events: Iterable[ListenerEvent] = (),
    started: float = 0.0,
    kernel_events: bool = True,
    interval: float = 2.0,
    batch: int = 10_000,
) -> None:
    """A history at `path` holding `connections` (in that order) and `events`, from one
    run that started at `started` (default: just before the first row)."""
    store = Store.open(path)
    try:
        rows = list(connections)
        first = started or (min((c.closed for c in rows), default=1.0) - 1)
        store.start_run(first, interval, kernel_events, None if kernel_events else "--polls-only")
        last = first
        for start in range(0, max(len(rows), 1), batch):
            chunk = tuple(rows[start : start + batch])
            last = max([last, *(c.closed for c in chunk)])
            store.write(Batch(closed=chunk), last, 0)
        store.write(Batch(listener_events=tuple(events)), last, 0)
        store.finish_run(last, 0)
    finally:
        store.close()
