"""Traffic as JSON and CSV: the members each connection record gains, and the
document's `traffic` object (totals and rates per process, destination, namespace).

A connection without counters (UDP, TIME_WAIT, a source without tcp_info) has every
counter null and says why in `traffic_unavailable`, never 0. Rates are bytes (or
segments) a second over the interval between two polls, so they are null after one.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from portscope.analysis.traffic import (
    KINDS,
    ConnectionTraffic,
    GroupTraffic,
    Rate,
    TrafficReport,
    counters_missing,
    single_reading,
)
from portscope.model import Snapshot, Socket
from portscope.report.owner import owner_record

TRAFFIC_FIELDS = (
    "bytes_sent", "bytes_received", "segments_sent", "segments_received", "retransmits",
    "rtt_ms", "rtt_var_ms", "min_rtt_ms", "delivery_rate", "busy_ms", "receiver_limited_ms",
    "sndbuf_limited_ms", "rx_rate", "tx_rate", "retransmit_rate", "flags", "traffic_unavailable",
)  # fmt: skip
"""The members a connection record gains, in order."""
NO_COUNTERS = (None,) * (len(TRAFFIC_FIELDS) - 2)


def milliseconds(micros: int | None) -> float | None:
    return None if micros is None else round(micros / 1000, 3)


def per_second(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def connection_traffic(
    sock: Socket, snapshot: Snapshot, traffic: TrafficReport | None
) -> ConnectionTraffic | None:
    """`sock` in the report when there is one, else as the snapshot alone shows it."""
    if traffic is not None:
        return traffic.connection(sock)
    return single_reading(sock, snapshot)


def traffic_values(
    sock: Socket, snapshot: Snapshot, traffic: TrafficReport | None
) -> tuple[Any, ...]:
    """The values of TRAFFIC_FIELDS for one socket (flags as a tuple)."""
    found = connection_traffic(sock, snapshot, traffic)
    if found is None:
        return (*NO_COUNTERS, (), counters_missing(sock, snapshot) or "no counters yet")
    info, rate = found.info, found.rate
    return (
        info.bytes_acked,
        info.bytes_received,
        info.segs_out,
        info.segs_in,
        info.total_retrans,
        milliseconds(info.rtt),
        milliseconds(info.rttvar),
        milliseconds(info.min_rtt),
        info.delivery_rate,
        milliseconds(info.busy_time),
        milliseconds(info.rwnd_limited),
        milliseconds(info.sndbuf_limited),
        per_second(rate.received) if rate else None,
        per_second(rate.sent) if rate else None,
        per_second(rate.retransmits) if rate else None,
        found.flags,
        None,
    )


def traffic_members(
    sock: Socket, snapshot: Snapshot, traffic: TrafficReport | None
) -> dict[str, Any]:
    values = traffic_values(sock, snapshot, traffic)
    record = dict(zip(TRAFFIC_FIELDS, values, strict=True))
    record["flags"] = list(record["flags"])
    return record


def rate_record(rate: Rate | None) -> dict[str, Any]:
    return {
        "rx_rate": per_second(rate.received) if rate else None,
        "tx_rate": per_second(rate.sent) if rate else None,
        "retransmit_rate": per_second(rate.retransmits) if rate else None,
    }


def group_members(group: GroupTraffic) -> dict[str, Any]:
    """Whom a group is: a process's three owner members, a destination's endpoint, a
    namespace's inode (null: the one namespace polled)."""
    key: Hashable = group.key
    if group.kind == "processes":
        return owner_record(group.owner)
    if group.kind == "destinations":
        address, port = key  # type: ignore[misc]
        return {"remote_address": address, "remote_port": port}
    return {"netns": key}


def group_record(group: GroupTraffic) -> dict[str, Any]:
    totals = group.totals
    return {
        **group_members(group),
        "connections": totals.connections,
        "bytes_sent": totals.bytes_sent,
        "bytes_received": totals.bytes_received,
        "segments_sent": totals.segments_sent,
        "retransmits": totals.retransmits,
        **rate_record(group.rate),
    }


def traffic_record(traffic: TrafficReport) -> dict[str, Any]:
    """The document's `traffic` object: every group busiest first."""
    thresholds = traffic.thresholds
    return {
        "interval": None if traffic.interval is None else round(traffic.interval, 3),
        "unavailable": traffic.unavailable,
        "absent_fields": sorted(traffic.absent),
        "thresholds": {
            "retransmit_percent": thresholds.retransmit_percent,
            "rtt_factor": thresholds.rtt_factor,
            "rtt_excess_ms": thresholds.rtt_excess_ms,
            "limited_percent": thresholds.limited_percent,
        },
        "total": rate_record(traffic.total_rate),
        **{kind: [group_record(g) for g in traffic.top(kind)] for kind in KINDS},
    }
