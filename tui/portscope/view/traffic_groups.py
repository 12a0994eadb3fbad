"""What the Traffic view lists: the busiest groups of each kind a `TrafficReport`
sums (processes, destinations, network namespaces), each named, with its rate and
the rates of the last polls for a sparkline. No textual here.

Each kind is one `Grouping` in `GROUPINGS`: a grouping more (containers) is one entry
with its own label, beside a tracker that sums it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from portscope.analysis.tcp_health import Rate
from portscope.analysis.traffic import GroupKind, GroupTraffic, Totals, TrafficReport
from portscope.model import Owner, Snapshot, Socket, endpoint
from portscope.processes import owner_label
from portscope.sanitise import printable
from portscope.view.history import size_text
from portscope.view.traffic_cells import rate_text

UNKNOWN_PROCESS = "no process visible (another user's, or TIME_WAIT)"


@dataclass(frozen=True, slots=True)
class Grouping:
    """One kind of group the Traffic view lists: the report's kind, its list's title,
    and how one of its groups is named (as the snapshot summed names it)."""

    kind: GroupKind
    title: str
    label: Callable[[GroupTraffic, Snapshot], str]


def process_label(group: GroupTraffic, _snapshot: Snapshot) -> str:
    return owner_label(group.owner) if group.owner is not None else UNKNOWN_PROCESS


def destination_label(group: GroupTraffic, _snapshot: Snapshot) -> str:
    address, port = group.key  # type: ignore[misc]
    return printable(endpoint(address or None, port), 70)


def namespace_label(group: GroupTraffic, snapshot: Snapshot) -> str:
    """The namespace by the name the panes' netns column gives it (`host`, a container,
    an `ip netns` name); a socket that says none is in the one polled."""
    if group.key is None:
        return "this network namespace"
    return printable(snapshot.namespace_name(group.key), 70)  # type: ignore[arg-type]


GROUPINGS: tuple[Grouping, ...] = (
    Grouping("processes", "processes", process_label),
    Grouping("destinations", "destinations", destination_label),
    Grouping("namespaces", "network namespaces", namespace_label),
)


@dataclass(frozen=True, slots=True)
class GroupLine:
    """One line of a Traffic list: the group, its name, its figures and its rates over
    the last polls, oldest first."""

    kind: GroupKind
    key: Hashable
    label: str
    totals: Totals
    rate: Rate | None
    history: tuple[float, ...]
    owner: Owner | None

    @property
    def figures(self) -> str:
        """`↓ 1.2MB/s ↑ 45KB/s · 3 conns`; `no rate yet` after one poll."""
        conns = self.totals.connections
        count = f"{conns:,} conn{'s' if conns != 1 else ''}"
        if self.rate is None:
            return f"no rate yet · {count}"
        return f"↓ {rate_text(self.rate.received)}B/s ↑ {rate_text(self.rate.sent)}B/s · {count}"


def group_lines(report: TrafficReport, grouping: Grouping, limit: int) -> list[GroupLine]:
    """The `limit` busiest groups of `grouping`'s kind, busiest first."""
    return [
        GroupLine(
            group.kind,
            group.key,
            grouping.label(group, report.snapshot),
            group.totals,
            group.rate,
            report.sparkline(group.kind, group.key),
            group.owner,
        )
        for group in report.top(grouping.kind, limit)
    ]


def total_text(report: TrafficReport) -> str:
    """The TCP throughput of every connection together, for the header and the view:
    `TCP ↓ 1.2MB/s ↑ 45KB/s`; empty while there is none to show (not collected, or a
    first poll)."""
    rate = report.total_rate if report.unavailable is None else None
    if rate is None:
        return ""
    return f"TCP ↓ {rate_text(rate.received)}B/s ↑ {rate_text(rate.sent)}B/s"


def process_traffic(
    report: TrafficReport | None, owner: Owner, sockets: Iterable[Socket]
) -> list[str]:
    """The process details' traffic: its totals and rates now, then each of its
    flagged connections with its flags explained."""
    if report is None:
        return ["waiting for the first traffic report…"]
    if report.unavailable is not None:
        return [f"not collected: {report.unavailable}"]
    group = report.group("processes", (owner.pid, owner.create_time))
    if group is None:
        return ["no TCP connection with counters"]
    totals = group.totals
    line = GroupLine(group.kind, group.key, "", totals, group.rate, (), owner)
    lines = [
        f"{line.figures} · received {size_text(totals.bytes_received)}, "
        f"sent {size_text(totals.bytes_sent)}, {totals.retransmits:,} retransmitted"
    ]
    for sock in sockets:
        found = report.connection(sock)
        if found is None or not found.flags:
            continue
        ends = f"{endpoint(sock.local_address, sock.local_port)} → " + endpoint(
            sock.remote_address, sock.remote_port
        )
        lines.extend(f"{printable(ends, 100)}: {reason}" for reason in found.reasons)
    return lines
