"""Health figures as JSON records and one-line descriptions, for `check` and snapshots."""

from __future__ import annotations

from typing import Any

from portscope.analysis import (
    AcceptQueue,
    CloseWaitTrend,
    ConntrackFill,
    CounterReport,
    Destination,
    DestinationPressure,
    Finding,
    HealthReport,
    ListenDrops,
    percent_label,
)
from portscope.analysis.retransmits import RetransmitRate
from portscope.model import Owner, SocketTotals, endpoint
from portscope.report.owner import owner_record
from portscope.sanitise import printable


def rounded(percent: float | None) -> float | None:
    return None if percent is None else round(percent, 1)


def pressure_record(item: DestinationPressure) -> dict[str, Any]:
    dest = item.destination
    return {
        "proto": dest.proto,
        "family": dest.family,
        "local_address": dest.local_address,
        "remote_address": dest.remote_address,
        "remote_port": dest.remote_port,
        "netns_inode": dest.netns or None,
        "in_use": item.in_use,
        "budget": item.budget,
        "free": item.free,
        "percent": rounded(item.percent),
        "level": item.level,
        "time_wait": item.time_wait,
        "time_wait_share": rounded(item.time_wait_share),
        "time_wait_reusable": item.time_wait_reusable,
    }


def accept_queue_record(queue: AcceptQueue) -> dict[str, Any]:
    sock = queue.listener
    return {
        "proto": sock.proto,
        "family": sock.family,
        "address": sock.local_address,
        "port": sock.local_port,
        "netns_inode": sock.netns or None,
        **owner_record(sock.owner),
        "queued": queue.queued,
        "backlog": queue.backlog,
        "percent": rounded(queue.percent),
        "full": queue.full,
        "level": queue.level,
    }


def close_wait_record(trend: CloseWaitTrend) -> dict[str, Any]:
    return {
        **owner_record(trend.owner),
        "netns_inode": trend.netns or None,
        "count": trend.count,
        "counts": list(trend.counts),
        "growing": trend.growing,
        "level": trend.level,
    }


def counters_record(report: CounterReport) -> dict[str, Any]:
    """Each watched counter now, its rise since the previous poll and that per second
    (null on a first poll), and whether a rise is an alarm."""
    return {
        "seconds": None if report.seconds is None else round(report.seconds, 3),
        "counters": [
            {
                "name": c.name,
                "value": c.value,
                "delta": c.delta,
                "per_second": None if c.rate is None else round(c.rate, 3),
                "alarm": c.alarm,
            }
            for c in report.changes
        ],
        "moved": [c.name for c in report.moved],
    }


def listen_drops_record(drops: ListenDrops | None) -> dict[str, Any] | None:
    if drops is None:
        return None
    return {
        "dropped": drops.dropped,
        "overflows": drops.overflows,
        "seconds": round(drops.seconds, 3),
        "level": drops.level,
    }


def conntrack_record(fill: ConntrackFill | None) -> dict[str, Any] | None:
    if fill is None:
        return None
    return {
        "count": fill.count,
        "max": fill.maximum,
        "percent": rounded(fill.percent),
        "level": fill.level,
    }


def totals_record(totals: SocketTotals) -> dict[str, Any]:
    return {name: getattr(totals, name) for name in totals.__slots__}


def process_label(owner: Owner | None) -> str:
    if owner is None:
        return "a process this user cannot see"
    return f"{printable(owner.name, 40) or '?'} (pid {owner.pid})"


def destination_label(dest: Destination) -> str:
    """`tcp 10.0.0.5 -> 10.0.0.9:5432`: the tuple a source port must be unique for."""
    return f"{dest.proto} {dest.local_address} -> {endpoint(dest.remote_address, dest.remote_port)}"


def retransmit_record(found: RetransmitRate) -> dict[str, Any]:
    address, port = found.destination
    return {
        "remote_address": address,
        "remote_port": port,
        "percent": rounded(found.percent),
        "retransmit_rate": round(found.rate.retransmits, 1),
        "segment_rate": round(found.rate.segments_sent, 1),
        "interval": round(found.seconds, 3),
        "level": found.level,
    }


def describe(finding: Finding | RetransmitRate, place: str | None = None) -> str:
    """One plain line saying what is wrong and how badly, and in which network
    namespace (`place`, `HealthReport.place_of`) when there is more than one."""
    said = worded(finding)
    return f"netns {printable(place, 60)}: {said}" if place else said


def worded(finding: Finding | RetransmitRate) -> str:
    if isinstance(finding, RetransmitRate):
        rate = finding.rate
        return (
            f"tcp -> {endpoint(*finding.destination)}: {percent_label(finding.percent)} of the "
            f"segments sent were retransmissions in the last {finding.seconds:.1f} s "
            f"({rate.retransmits:.1f}/s of {rate.segments_sent:.1f}/s)"
        )
    if isinstance(finding, DestinationPressure):
        recyclable = finding.time_wait_reusable and finding.time_wait
        reuse = " (tcp_tw_reuse lets connect() recycle them)" if recyclable else ""
        return (
            f"{destination_label(finding.destination)}: "
            f"{finding.in_use} of {finding.budget} ephemeral ports in use "
            f"({percent_label(finding.percent)}), {finding.time_wait} in TIME_WAIT{reuse}"
        )
    if isinstance(finding, ListenDrops):
        why = "" if finding.overflows is None else f", {finding.overflows} with a full accept queue"
        return (
            f"{finding.dropped} connection attempts dropped at listeners in "
            f"{finding.seconds:.3g} s (TcpExtListenDrops{why})"
        )
    if isinstance(finding, ConntrackFill):
        return (
            f"conntrack table {finding.count} of {finding.maximum} entries "
            f"({percent_label(finding.percent)}): when full, new connections are dropped"
        )
    if isinstance(finding, AcceptQueue):
        sock = finding.listener
        state = "full, new connections are dropped" if finding.full else "filling"
        return (
            f"accept queue of {endpoint(sock.local_address, sock.local_port)} "
            f"{process_label(sock.owner)}: {finding.queued} waiting, backlog {finding.backlog} "
            f"({state})"
        )
    growth = " -> ".join(str(n) for n in finding.counts[-4:])
    verb = "growing" if finding.growing else "held"
    return f"CLOSE_WAIT {verb} in {process_label(finding.owner)}: {growth} (socket leak?)"


def health_record(report: HealthReport) -> dict[str, Any]:
    """The `health` object: TIME_WAIT, CLOSE_WAIT trends, accept queues, kernel totals."""
    thresholds = report.thresholds
    return {
        "level": report.level,
        "polls": report.polls,
        "thresholds": {
            "warning": thresholds.warning,
            "critical": thresholds.critical,
            "close_wait_critical": thresholds.close_wait_critical,
            "close_wait_growth": thresholds.close_wait_growth,
            "listen_drops_warning": thresholds.listen_drops_warning,
            "listen_drops_critical": thresholds.listen_drops_critical,
            "conntrack_warning": thresholds.conntrack_warning,
            "conntrack_critical": thresholds.conntrack_critical,
        },
        "time_wait": {"total": report.time_wait, "kernel": report.totals.tcp_time_wait},
        "tcp_tw_reuse": report.totals.tcp_tw_reuse,
        "close_wait": [close_wait_record(t) for t in report.close_wait],
        "accept_queues": [accept_queue_record(q) for q in report.accept_queues],
        "kernel_totals": totals_record(report.totals),
        "kernel_counters": counters_record(report.counters),
        "listen_drops": listen_drops_record(report.listen_drops),
        "conntrack": conntrack_record(report.conntrack),
        "problems": [
            {"level": f.level, "text": describe(f, report.place_of(f))} for f in report.problems
        ],
    }
