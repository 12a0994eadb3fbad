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
from portscope.exposure import bind_label, exposure_of, listener_exposure
from portscope.model import (
    InterfaceTable,
    KernelCounters,
    NamespaceInfo,
    Publication,
    Snapshot,
    Socket,
    endpoint,
    proto_label,
)
from portscope.report.json_rows import connection_rows, object_text, traffic_text
from portscope.report.owner import container_record, netns_members, owner_record
from portscope.report.table import format_table
from portscope.report.traffic import TRAFFIC_FIELDS, traffic_members, traffic_record
from portscope.sanitise import csv_cell, printable

SCHEMA = "portscope.snapshot/1"
NETNS_WIDTH = 24
"""The widest namespace name in the table (a podman sandbox name is 42 long)."""
CONNECTION_FIELDS = (
    "proto", "family", "local_address", "local_port", "remote_address", "remote_port",
    "state", "netns", "netns_inode", "pid", "process", "user", "ephemeral", *TRAFFIC_FIELDS,
)  # fmt: skip
PLACEMENT_FIELDS = (
    "container_runtime", "container_id", "container_name", "container_image", "pod",
    "pod_namespace", "unit", "published",
)  # fmt: skip
"""CSV's flat columns for where the process runs and what a listener publishes."""


def iso_utc(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def namespace_record(ns: NamespaceInfo) -> dict[str, Any]:
    rng = ns.ephemeral_range
    return {
        "inode": ns.inode,
        "name": ns.name,
        "kind": ns.kind,
        "ephemeral_range": None
        if rng is None
        else {"low": rng.low, "high": rng.high, "reserved": rng.reserved_spans()},
        "sockets": ns.sockets,
        "readable": ns.readable,
        "reason": ns.reason,
    }


def listener_record(sock: Socket, snapshot: Snapshot | None) -> dict[str, Any]:
    """A listener's members; its exposure and published ports as `snapshot` (the poll
    it is from) judges them, by its address alone without one."""
    interfaces = snapshot.interfaces if snapshot else InterfaceTable()
    return {
        "proto": sock.proto,
        "family": sock.family,
        "address": sock.local_address,
        "port": sock.local_port,
        **netns_members(sock, snapshot),
        **owner_record(sock.owner),
        "exposure": listener_exposure(sock, snapshot)
        if snapshot
        else exposure_of(sock.local_address),
        "interface": bind_label(sock.local_address, interfaces),
        "accept_queue": sock.rx_queue if sock.proto == "tcp" else None,
        "backlog": sock.tx_queue if sock.proto == "tcp" else None,
        "published": published_record(sock, snapshot) if snapshot else None,
    }


def published_record(sock: Socket, snapshot: Snapshot) -> dict[str, Any] | None:
    """For a host listener that holds a published port: the container, port and
    process it forwards to; for a container's listener: the host bindings that reach
    it; null for any other."""
    held = snapshot.held_for(sock)
    if held is not None:
        return {"to": target_record(held)}
    served = snapshot.publications(sock)
    if not served:
        return None
    return {"from": [host_record(p) for p in served]}


def target_record(publication: Publication) -> dict[str, Any]:
    """Where a published port forwards: the container, its port, and the process
    listening there (null while it is not seen)."""
    server = publication.server
    return {
        "container": container_record(publication.binding.container),
        "port": publication.binding.container_port,
        "pid": server.owner.pid if server and server.owner else None,
        "process": server.owner.name if server and server.owner else None,
    }


def host_record(publication: Publication) -> dict[str, Any]:
    """The host side of a published port, and the process holding it (null: NAT only)."""
    holder = publication.holder
    return {
        "proto": publication.binding.proto,
        "address": publication.binding.host_address,
        "port": publication.binding.host_port,
        "holder_pid": holder.owner.pid if holder and holder.owner else None,
        "holder_process": holder.owner.name if holder and holder.owner else None,
    }


def publication_record(publication: Publication) -> dict[str, Any]:
    """One published port: its host side and where it forwards."""
    return {**host_record(publication), "to": target_record(publication)}


def publication_text(publication: Publication) -> str:
    """`127.0.0.1:18082 → web2:8082 (python3)`, printable."""
    return printable(f"{publication.host_side} → {publication.target}")


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
        **netns_members(sock, snapshot),
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
        "namespaces": [namespace_record(ns) for ns in snapshot.namespaces],
        "unread_namespaces": snapshot.unread_namespaces(),
        "listening": [listener_record(s, snapshot) for s in snapshot.listeners],
        "published": [publication_record(p) for p in snapshot.published],
        "containers": [container_record(c) for c in snapshot.containers],
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


def placement_cells(sock: Socket, snapshot: Snapshot) -> list[object]:
    """The CSV's `PLACEMENT_FIELDS` of one socket; `published` as the table says it."""
    owner = sock.owner
    container = owner.container if owner else None
    return [
        *(
            (container.runtime, container.id, container.name, container.image, container.pod,
             container.pod_namespace)
            if container
            else (None,) * 6
        ),
        owner.unit if owner else None,
        published_text(sock, snapshot),
    ]  # fmt: skip


def published_text(sock: Socket, snapshot: Snapshot) -> str | None:
    """`→ web2:8082 (python3)` for a helper's host listener, `← 127.0.0.1:18082` for
    the container's listener it reaches; None for every other socket."""
    held = snapshot.held_for(sock)
    if held is not None:
        return printable(f"→ {held.target}")
    served = snapshot.publications(sock)
    return printable("← " + ", ".join(p.host_side for p in served)) if served else None


def to_csv(snapshot: Snapshot, traffic: TrafficReport | None = None) -> str:
    """Every socket, one row each; listeners have no remote and ephemeral=false."""
    traffic = traffic or TrafficTracker().update(snapshot)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*CONNECTION_FIELDS, *PLACEMENT_FIELDS))
    for sock in snapshot.sockets:
        record = connection_record(sock, snapshot, traffic)
        cells = [csv_value(record[name]) for name in CONNECTION_FIELDS]
        writer.writerow([csv_cell(c) for c in (*cells, *placement_cells(sock, snapshot))])
    return out.getvalue()


def to_table(snapshot: Snapshot) -> str:
    """The sockets, aligned; the process beside the container or unit it runs in, and
    a published port's helper as the mapping it holds; a NETNS column when sockets of
    more than one namespace are listed (on a host without containers it would say
    `host` on every line, which `ss` and `lsof` users never had to read past).
    Published ports that no host listener holds (NAT rules only) follow the table."""
    spread = len({s.netns for s in snapshot.sockets}) > 1
    headers = ("PROTO", "STATE", "LOCAL", "REMOTE", *("NETNS",) * spread, "PID", "PROCESS",
               "USER", "IN", "EPH")  # fmt: skip
    rows = [
        (
            proto_label(s.proto, s.family),
            s.state_label,
            endpoint(s.local_address, s.local_port),
            endpoint(s.remote_address, s.remote_port),
            *(printable(snapshot.namespace_name(s.netns), NETNS_WIDTH),) * spread,
            s.pid,
            " ".join(
                filter(None, (s.owner.name if s.owner else None, published_text(s, snapshot)))
            ),
            s.owner.user if s.owner else None,
            s.owner.where if s.owner else None,
            "yes" if snapshot.is_ephemeral(s) else "",
        )
        for s in snapshot.sockets
    ]
    rng = snapshot.ephemeral_range
    read = sum(ns.sockets > 0 for ns in snapshot.namespaces)
    summary = (
        f"{len(snapshot.listeners)} listening, {len(snapshot.connections)} connections"
        f"{f' in {read} network namespaces' if read > 1 else ''}, "
        f"{snapshot.unattributed} with hidden owners; ephemeral range {rng.low}-{rng.high} "
        f"({rng.source})"
    )
    unheld = [
        f"published, no host listener (NAT rules only): {publication_text(p)}"
        for p in snapshot.published
        if p.holder is None
    ]
    unread = snapshot.unread_namespaces()
    summary += f"; {unread}" if unread else ""
    return "\n".join([format_table(headers, rows), *map(printable, unheld), printable(summary)])
