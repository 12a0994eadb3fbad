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
    GroupTraffic,
    Rate,
    Reading,
    TrafficReport,
    counters_missing,
    single_reading,
)
from portscope.model import Snapshot, Socket
from portscope.report.owner import owner_record
from portscope.tcpinfo import TcpInfo

TRAFFIC_FIELDS = (
    "bytes_sent", "bytes_received", "segments_sent", "segments_received", "retransmits",
    "rtt_ms", "rtt_var_ms", "min_rtt_ms", "delivery_rate", "busy_ms", "receiver_limited_ms",
    "sndbuf_limited_ms", "rx_rate", "tx_rate", "retransmit_rate", "flags", "traffic_unavailable",
)  # fmt: skip
"""The members a connection record gains, in order."""
COUNTER_FIELDS, RATE_FIELDS = TRAFFIC_FIELDS[:12], TRAFFIC_FIELDS[12:15]
"""The members from one reading's counters, and the rates between two readings."""
NO_COUNTERS = (None,) * (len(TRAFFIC_FIELDS) - 2)


def traffic_values(
    sock: Socket, snapshot: Snapshot, traffic: TrafficReport | None
) -> tuple[Any, ...]:
    """The values of TRAFFIC_FIELDS for one socket (the flags as a tuple): from the
    report when there is one, else from the snapshot alone."""
    found = traffic.reading(sock) if traffic is not None else single_reading(sock, snapshot)
    if found is None:
        return (*NO_COUNTERS, (), counters_missing(sock, snapshot) or "no counters yet")
    return reading_values(found)


def reading_values(found: Reading) -> tuple[Any, ...]:
    """The values of TRAFFIC_FIELDS for a connection with counters."""
    info, rate, _limits, flags = found
    return (*counter_values(info), *rate_values(rate), flags, None)


def counter_values(info: TcpInfo) -> tuple[int | float | None, ...]:
    """The values of the counter members (TRAFFIC_FIELDS up to the rates); None for a
    field this kernel lacks.

    RTTs are milliseconds to the microsecond: a whole number divided by 1000 needs no
    rounding, as the quotient is the double closest to its three-decimal value, which
    repr (and so JSON) writes with at most three. The limited times are whole
    milliseconds (the kernel counts them in jiffies, 1 ms at the finest) and byte
    rates whole bytes a second: a float takes several times an int to write, and a
    document writes 20,000 rows."""
    (
        rtt,
        rttvar,
        retrans,
        acked,
        received,
        segs_out,
        segs_in,
        min_rtt,
        delivery,
        busy,
        rwnd,
        sndbuf,
    ) = info
    return (
        acked,
        received,
        segs_out,
        segs_in,
        retrans,
        None if rtt is None else rtt / 1000,
        None if rttvar is None else rttvar / 1000,
        None if min_rtt is None else min_rtt / 1000,
        delivery,
        None if busy is None else busy // 1000,
        None if rwnd is None else rwnd // 1000,
        None if sndbuf is None else sndbuf // 1000,
    )


def rate_values(rate: Rate | None) -> tuple[int | float | None, ...]:
    """`rx_rate`, `tx_rate` and `retransmit_rate`: bytes a second, whole, and
    retransmitted segments a second to a tenth; None before a second reading."""
    if rate is None:
        return NO_RATE
    return round(rate.received), round(rate.sent), round(rate.retransmits, 1)


NO_RATE = (None, None, None)


def rate_record(rate: Rate | None) -> dict[str, Any]:
    return dict(zip(RATE_FIELDS, rate_values(rate), strict=True))


def traffic_members(
    sock: Socket, snapshot: Snapshot, traffic: TrafficReport | None
) -> dict[str, Any]:
    values = traffic_values(sock, snapshot, traffic)
    record = dict(zip(TRAFFIC_FIELDS, values, strict=True))
    record["flags"] = list(record["flags"])
    return record


def group_members(group: GroupTraffic) -> dict[str, Any]:
    """Whom a group is: a process's three owner members, a destination's endpoint, a
    namespace's inode (null: a socket that says none)."""
    key: Hashable = group.key
    if group.kind == "processes":
        return owner_record(group.owner)
    if group.kind == "destinations":
        address, port = key
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


def traffic_summary(traffic: TrafficReport) -> dict[str, Any]:
    """The document's `traffic` object but for its groups."""
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
    }


def traffic_record(traffic: TrafficReport) -> dict[str, Any]:
    """The document's `traffic` object: every group busiest first."""
    return {
        **traffic_summary(traffic),
        **{kind: [group_record(g) for g in traffic.top(kind)] for kind in KINDS},
    }
