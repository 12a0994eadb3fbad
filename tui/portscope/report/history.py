"""`portscope history` output: the page as a table, a JSON document or CSV rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from portscope.history.records import (
    ClosedConnection,
    HistoryPage,
    ListenerEvent,
    PortHistory,
    Run,
    Who,
)
from portscope.report.snapshot import iso_utc
from portscope.report.table import format_table
from portscope.sanitise import csv_cell, printable
from portscope.view.history import UNKNOWN_NOTE, coverage_text, page_table, stamp

SCHEMA = "portscope.history/1"
CSV_FIELDS = (
    "time", "kind", "change", "proto", "family", "local_address", "local_port",
    "remote_address", "remote_port", "state", "opened", "lifetime_s", "lifetime_bound",
    "sent", "received", "accepted", "uid", "pid", "process", "user", "owner_from",
    "peer_pid", "peer_process", "ended", "netns", "netns_name", "place",
)  # fmt: skip


def who_record(who: Who | None) -> dict[str, Any]:
    return {
        "pid": who.pid if who else None,
        "process": who.process if who else None,
        "user": who.user if who else None,
        "place": who.place if who else None,
    }


def when(at: float | None) -> str | None:
    return None if at is None else iso_utc(at)


def connection_record(c: ClosedConnection) -> dict[str, Any]:
    return {
        "proto": c.proto,
        "family": c.family,
        "local_address": c.local_address,
        "local_port": c.local_port,
        "remote_address": c.remote_address,
        "remote_port": c.remote_port,
        "accepted": c.accepted,
        "opened": when(c.opened),
        "closed": when(c.closed),
        "ended": c.ended,
        "state": c.state,
        "lifetime_s": None if c.lifetime is None else round(c.lifetime, 3),
        "lifetime_bound": c.bound,
        "sent": c.sent,
        "received": c.received,
        "uid": c.uid,
        **who_record(c.owner),
        "owner_from": c.owner_from,
        "peer": None if c.peer is None else who_record(c.peer),
        "netns": c.netns,
        "netns_name": c.netns_name,
    }


def listener_record(e: ListenerEvent) -> dict[str, Any]:
    return {
        "at": when(e.at),
        "change": e.change,
        "proto": e.proto,
        "family": e.family,
        "address": e.address,
        "port": e.port,
        "exposure": e.exposure,
        "uid": e.uid,
        **who_record(e.owner),
        "while_stopped": e.while_stopped,
        "netns": e.netns,
        "netns_name": e.netns_name,
    }


def run_record(run: Run) -> dict[str, Any]:
    return {
        "started": when(run.started),
        "last_write": when(run.last_write),
        "stopped": when(run.stopped),
        "interval_s": run.interval,
        "kernel_events": run.kernel_events,
        "note": run.note,
        "dropped": run.dropped,
    }


def port_history_record(history: PortHistory) -> dict[str, Any]:
    """A lookup result's `history` member."""
    return {
        "since": when(history.window.since),
        "until": when(history.window.until),
        "count": history.count,
        "last": None if history.last is None else connection_record(history.last),
        "runs": [run_record(r) for r in history.runs],
    }


def history_record(page: HistoryPage, database: Path) -> dict[str, Any]:
    """The `portscope.history/1` document; fields may be added, never renamed."""
    wanted = page.filter
    return {
        "schema": SCHEMA,
        "database": str(database),
        "since": when(wanted.since),
        "until": when(wanted.until),
        "filter": {
            "port": wanted.port,
            "process": wanted.process,
            "remote_address": wanted.remote_address,
            "remote_port": wanted.remote_port,
            "netns": wanted.netns,
        },
        "total": page.total,
        "connections": [connection_record(c) for c in page.connections],
        "listener_events": [listener_record(e) for e in page.listener_events],
        "by_process": [{"process": p, "count": n} for p, n in page.by_process],
        "by_destination": [{"destination": d, "count": n} for d, n in page.by_destination],
        "runs": [run_record(r) for r in page.runs],
    }


def to_json(page: HistoryPage, database: Path) -> str:
    return json.dumps(history_record(page, database), indent=1, ensure_ascii=True)


def counted(count: int, what: str) -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def counts_text(label: str, counts: tuple[tuple[str, int], ...]) -> str:
    return f"{label}: " + ", ".join(f"{name} {n}" for name, n in counts) if counts else ""


def to_text(page: HistoryPage, database: Path) -> str:
    wanted = page.filter
    head = [f"history in {database}, {stamp(wanted.since)} to {stamp(wanted.until)}"]
    head += coverage_text(page.runs, wanted.since, wanted.until)
    shown = len(page.connections)
    more = f" (the newest {shown} shown)" if shown < page.total else ""
    events = counted(len(page.listener_events), "listener event")
    head.append(f"{counted(page.total, 'connection')}{more}, {events}")
    lines = [printable(line) for line in head]
    titles, rows = page_table(page)
    if rows:
        lines += ["", format_table(titles, rows)]
    counts = [
        counts_text("per process", page.by_process),
        counts_text("per destination", page.by_destination),
    ]
    lines += [""] + [printable(c) for c in counts if c] if any(counts) else []
    if any(c.owner is None for c in page.connections):
        lines.append(UNKNOWN_NOTE)
    if any(e.while_stopped for e in page.listener_events):
        lines.append("* = changed while no recorder ran (seen when the next run started)")
    return "\n".join(lines)


def to_csv(page: HistoryPage) -> str:
    """Connections and listener events, one row each, newest first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    rows: list[tuple[float, dict[str, Any]]] = []
    for c in page.connections:
        record = connection_record(c)
        peer = record.pop("peer") or {}
        record.update(
            time=record["closed"], kind="connection", change="closed",
            peer_pid=peer.get("pid"), peer_process=peer.get("process"),
        )  # fmt: skip
        rows.append((c.closed, record))
    for e in page.listener_events:
        record = listener_record(e)
        record.update(
            time=record["at"], kind="listener", local_address=record["address"],
            local_port=record["port"],
        )  # fmt: skip
        rows.append((e.at, record))
    for _at, record in sorted(rows, key=lambda item: -item[0]):
        writer.writerow([csv_cell(record.get(name)) for name in CSV_FIELDS])
    return out.getvalue()
