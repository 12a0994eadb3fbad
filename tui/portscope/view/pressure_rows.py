"""What the pressure view's table shows: one row per destination, from a `HealthReport`.

Every figure comes from the analysis; nothing is recomputed here, only worded.
"""

from __future__ import annotations

from portscope.analysis import DestinationPressure, percent_label
from portscope.analysis.levels import SEVERITY
from portscope.model import endpoint, proto_label
from portscope.sanitise import printable
from portscope.view.columns import Column, Columns, Row
from portscope.view.socket_cells import address_sort


def _reuse(item: DestinationPressure) -> str:
    """Whether connect() may recycle this destination's TIME_WAIT tuples (TCP only)."""
    if item.destination.proto != "tcp":
        return ""
    return "recycles" if item.time_wait_reusable else "no"


def _time_wait(item: DestinationPressure) -> str:
    return f"{item.time_wait:,} ({item.time_wait_share:.0f}%)" if item.time_wait else "0"


def _destination_order(item: DestinationPressure) -> bytes:
    dest = item.destination
    return address_sort(dest.remote_address) + dest.remote_port.to_bytes(2, "big")


PRESSURE_COLUMNS: Columns[DestinationPressure] = Columns(
    Column(
        "proto",
        "proto",
        5,
        priority=6,
        cell=lambda i: proto_label(i.destination.proto, i.destination.family),
    ),
    Column(
        "local",
        "local address",
        13,
        priority=3,
        grow=True,
        cell=lambda i: printable(i.destination.local_address, 45),
        sort=lambda i: address_sort(i.destination.local_address),
    ),
    Column(
        "remote",
        "destination",
        21,
        priority=10,
        grow=True,
        cell=lambda i: endpoint(
            printable(i.destination.remote_address, 45), i.destination.remote_port
        ),
        sort=_destination_order,
    ),
    Column(
        "in_use",
        "in use",
        11,
        priority=9,
        align="right",
        cell=lambda i: f"{i.in_use:,}/{i.budget:,}",
        sort=lambda i: i.in_use,
    ),
    Column(
        "percent",
        "used",
        6,
        priority=10,
        align="right",
        cell=lambda i: percent_label(i.percent),
        sort=lambda i: round(i.percent * 100),
    ),
    Column(
        "time_wait",
        "TIME_WAIT",
        10,
        priority=8,
        align="right",
        cell=_time_wait,
        sort=lambda i: i.time_wait,
    ),
    Column("reuse", "tw_reuse", 8, priority=2, cell=_reuse),
    Column(
        "level",
        "level",
        8,
        priority=7,
        cell=lambda i: i.level,
        sort=lambda i: SEVERITY[i.level],
    ),
)


def pressure_row(item: DestinationPressure) -> Row:
    """A destination's row, tagged with its level so warning and critical rows stand out."""
    tag = "" if item.level == "ok" else item.level
    return PRESSURE_COLUMNS.row(item.destination, item, tag=tag, payload=item)
