"""`portscope snapshot` output: the schema-stable JSON, CSV and an aligned table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from portscope.analysis import HealthTracker
from portscope.analysis.traffic import TrafficReport, TrafficTracker
from portscope.exposure import bind_label, exposure_of
from portscope.model import (
    InterfaceTable,
    KernelCounters,
    Snapshot,
    Socket,
    endpoint,
    proto_label,
)
from portscope.report.json_rows import connection_rows, object_text, traffic_text
from portscope.report.owner import owner_record
from portscope.report.table import format_table
from portscope.report.traffic import TRAFFIC_FIELDS, traffic_members, traffic_record
from portscope.sanitise import csv_cell, printable

SCHEMA = "portscope.snapshot/1"
CONNECTION_FIELDS = (
    "proto", "family", "local_address", "local_port", "remote_address", "remote_port",
    "state", "pid", "process", "user", "ephemeral", *TRAFFIC_FIELDS,
)  # fmt: skip


def iso_utc(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def listener_record(sock: Socket, interfaces: InterfaceTable) -> dict[str, Any]:
    return {
        "proto": sock.proto,
        "family": sock.family,
        "address": sock.local_address,
        "port": sock.local_port,
        **owner_record(sock.owner),
        "exposure": exposure_of(sock.local_address),
        "interface": bind_label(sock.local_address, interfaces),
        "accept_queue": sock.rx_queue if sock.proto == "tcp" else None,
        "backlog": sock.tx_queue if sock.proto == "tcp" else None,
    }


def connection_record(
    sock: Socket, snapshot: Snapshot, traffic: TrafficReport | None = None
) -> dict[str, Any]:
    """A connection's members; its traffic from `traffic` when given (rates need two
    polls), else from the snapshot's own counters."""
    return {
        "proto": sock.proto,
        "family": sock.family,
        "local_address": sock.local_address,
        "local_port": sock.local_port,
        "remote_address": sock.remote_address,
        "remote_port": sock.remote_port,
        "state": sock.state,
        **owner_record(sock.owner),
        "ephemeral": snapshot.is_ephemeral(sock),
        **traffic_members(sock, snapshot, traffic),
    }


def counters_record(counters: KernelCounters) -> dict[str, Any]:
    """The kernel's watched counters by nstat's names, and conntrack's fill (null
    without the module): a rate on screen is two of these apart."""
    conntrack = (
        None
        if counters.conntrack_count is None
        else {"count": counters.conntrack_count, "max": counters.conntrack_max}
    )
    return {"values": dict(counters.values), "conntrack": conntrack}


def snapshot_record(snapshot: Snapshot, traffic: TrafficReport | None = None) -> dict[str, Any]:
    """The `portscope.snapshot/1` document; fields may be added, never renamed.
    Traffic comes from `traffic` when given, else from this one poll."""
    traffic = traffic or TrafficTracker().update(snapshot)
    before, after = around_connections(snapshot, traffic)
    connections = [connection_record(s, snapshot, traffic) for s in snapshot.connections]
    return {**before, "connections": connections, **after}


def around_connections(
    snapshot: Snapshot,
    traffic: TrafficReport,
    write_traffic: Callable[[TrafficReport], object] = traffic_record,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document's members before and after "connections", in order; "traffic" as
    `write_traffic` writes it."""
    from portscope.report.health import health_record, pressure_record  # only this needs it

    health = HealthTracker().update(snapshot)
    rng = snapshot.ephemeral_range
    before = {
        "schema": SCHEMA,
        "taken_at": iso_utc(snapshot.taken_at),
        "host": snapshot.host,
        "privileged": snapshot.privileged,
        "ephemeral_range": {
            "low": rng.low,
            "high": rng.high,
            "reserved": rng.reserved_spans(),
            "source": rng.source,
            "usable": rng.usable,
        },
        "interfaces": [
            {"name": i.name, "addresses": list(i.addresses)} for i in snapshot.interfaces.interfaces
        ],
        "gateways": [
            {"family": g.family, "address": g.address, "interface": g.interface}
            for g in snapshot.interfaces.gateways
        ],
        "listening": [listener_record(s, snapshot.interfaces) for s in snapshot.listeners],
    }
    after = {
        "pressure": [pressure_record(p) for p in health.pressure],
        "health": health_record(health),
        "counters": counters_record(snapshot.counters),
        "traffic": write_traffic(traffic),
        "unattributed": snapshot.unattributed,
        "errors": list(snapshot.errors),
        "source": snapshot.source,
        "duration_ms": round(snapshot.duration * 1000, 1),
    }
    return before, after


def to_json(snapshot: Snapshot, traffic: TrafficReport | None = None) -> str:
    """ASCII-only JSON: control and bidi characters in process names arrive escaped.

    One line, not indented: json's C encoder only runs without `indent`, and the Python
    one is several times slower at 20k sockets (BENCHMARKS.md, "Behind the code"; pipe
    through `jq` to read it). The connection rows are written by `json_rows`, byte for
    byte as json.dumps would write them."""
    traffic = traffic or TrafficTracker().update(snapshot)
    before, after = around_connections(snapshot, traffic, traffic_text)
    rows = ", ".join(connection_rows(snapshot, traffic))
    after_text = object_text(after, ("traffic",))
    return f'{json.dumps(before)[:-1]}, "connections": [{rows}], {after_text[1:]}'


def csv_value(value: object) -> object:
    """A list (the flags) as its items joined by spaces."""
    return " ".join(map(str, value)) if isinstance(value, list) else value


def to_csv(snapshot: Snapshot, traffic: TrafficReport | None = None) -> str:
    """Every socket, one row each; listeners have no remote and ephemeral=false."""
    traffic = traffic or TrafficTracker().update(snapshot)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CONNECTION_FIELDS)
    for sock in snapshot.sockets:
        record = connection_record(sock, snapshot, traffic)
        writer.writerow([csv_cell(csv_value(record[name])) for name in CONNECTION_FIELDS])
    return out.getvalue()


def to_table(snapshot: Snapshot) -> str:
    headers = ("PROTO", "STATE", "LOCAL", "REMOTE", "PID", "PROCESS", "USER", "EPH")
    rows = [
        (
            proto_label(s.proto, s.family),
            s.state_label,
            endpoint(s.local_address, s.local_port),
            endpoint(s.remote_address, s.remote_port),
            s.pid,
            s.owner.name if s.owner else None,
            s.owner.user if s.owner else None,
            "yes" if snapshot.is_ephemeral(s) else "",
        )
        for s in snapshot.sockets
    ]
    rng = snapshot.ephemeral_range
    summary = (
        f"{len(snapshot.listeners)} listening, {len(snapshot.connections)} connections, "
        f"{snapshot.unattributed} with hidden owners; ephemeral range {rng.low}-{rng.high} "
        f"({rng.source})"
    )
    return format_table(headers, rows) + "\n" + printable(summary)
