"""Connection records and traffic groups as JSON text, written straight from the
sockets and the traffic report.

At 20,000 sockets, building a dict per connection and running json's encoder over
them was a large share of `portscope snapshot --json` after the collect (BENCHMARKS.md,
"Behind the code"). A row's text here is one f-string whose string pieces come from
small caches (a few addresses, states and owners repeat across thousands of rows), each
produced by `json.dumps` itself, so the output is byte for byte what
`json.dumps(connection_record(...))` writes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from functools import lru_cache
from operator import attrgetter
from typing import Any

from portscope.analysis.traffic import (
    IDLE,
    KINDS,
    GroupKind,
    Rate,
    Reading,
    TrafficReport,
    counters_missing,
    single_reading,
)
from portscope.model import Snapshot, Socket
from portscope.report.owner import netns_members, owner_record
from portscope.report.traffic import (
    COUNTER_FIELDS,
    RATE_FIELDS,
    TRAFFIC_FIELDS,
    counter_values,
    group_record,
    rate_record,
    rate_values,
    traffic_summary,
)


class JsonText(dict[str | None, str]):
    """json.dumps of strings (and None), each computed on first use; indexing a dict
    subclass stays a C-level lookup, where a call per value would not."""

    def __missing__(self, value: str | None) -> str:
        found = self[value] = json.dumps(value)
        return found


def owner_members(sockets: Iterable[Socket]) -> dict[int, str]:
    """The owner's members of a row (`"pid": .., "process": .., "user": ..`), by id of
    the owner: one `owner_record` per distinct owner, however many sockets it holds."""
    held = {id(s.owner): s.owner for s in sockets}
    return {key: json.dumps(owner_record(owner))[1:-1] for key, owner in held.items()}


ROW_FIELDS = attrgetter(
    "proto", "family", "local_address", "local_port", "remote_address", "remote_port",
    "state", "owner", "netns",
)  # fmt: skip


COUNTERS = ", ".join(f"{json.dumps(name)}: %s" for name in COUNTER_FIELDS)
"""The counter members as one format: `%s` writes an int or a float as json does
(float's repr), and None (a field this kernel lacks) as `None`, then made `null`."""
RATES = ", ".join(f"{json.dumps(name)}: %s" for name in RATE_FIELDS)
NO_RATES = RATES % (("null",) * len(RATE_FIELDS))


@lru_cache(maxsize=64)
def flags_json(flags: tuple[str, ...]) -> str:
    return json.dumps(list(flags))


def counters_text(found: Reading) -> str:
    """The traffic members of a row with counters (a first poll's have no rates)."""
    info, rate, _limits, flags = found
    values = counter_values(info)
    counters = COUNTERS % values
    if None in values:
        counters = counters.replace("None", "null")
    rates = NO_RATES if rate is None else RATES % rate_values(rate)
    return f'{counters}, {rates}, "flags": {flags_json(flags)}, "traffic_unavailable": null'


class MissingText(dict[tuple[str, str | None, bool, bool], str]):
    """The traffic members of a row without counters, by what decides why it has none
    (`counters_missing`: protocol, state, whether it has a peer, whether the snapshot's
    table holds it): written once, shared by every row alike."""

    def __init__(self, snapshot: Snapshot, text: JsonText) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.text = text

    def of(self, sock: Socket) -> str:
        table = self.snapshot.tcp_info
        held = table is not None and table.raw(sock) is not None
        judged = (sock.proto, sock.state, sock.remote_address is None, held)
        found = self.get(judged)
        if found is None:
            reason = counters_missing(sock, self.snapshot) or "no counters yet"
            members = ", ".join(f"{json.dumps(name)}: null" for name in TRAFFIC_FIELDS[:-2])
            found = self[judged] = (
                f'{members}, "flags": [], "traffic_unavailable": {self.text[reason]}'
            )
        return found


def connection_rows(snapshot: Snapshot, traffic: TrafficReport | None = None) -> list[str]:
    """`json.dumps(connection_record(sock, snapshot, traffic))` for every connection, in
    order.

    `is_ephemeral` depends only on the protocol, the local port, the namespace and
    whether the socket is a listener (its state, and for UDP whether it has a peer), so
    it is asked once per such combination; the traffic members of a row without counters likewise
    (`MissingText`), and a first poll's readings come straight from its table
    (`TrafficReport.readings`)."""
    sockets = snapshot.connections
    text, owner = JsonText(), owner_members(sockets)
    missing = MissingText(snapshot, text)
    readings = (
        traffic.readings(sockets)
        if traffic is not None
        else (single_reading(sock, snapshot) for sock in sockets)
    )
    ephemeral: dict[tuple[str, int, str | None, bool, int], str] = {}
    places: dict[int, str] = {}
    rows = []
    for sock, (proto, family, address, port, remote, remote_port, state, held, netns), found in zip(
        sockets, map(ROW_FIELDS, sockets), readings, strict=True
    ):
        place = places.get(netns)
        if place is None:
            place = places[netns] = json.dumps(netns_members(sock, snapshot))[1:-1]
        judged = (proto, port, state, remote is None, netns)
        flag = ephemeral.get(judged)
        if flag is None:
            flag = ephemeral[judged] = "true" if snapshot.is_ephemeral(sock) else "false"
        counters = missing.of(sock) if found is None else counters_text(found)
        rows.append(
            f'{{"proto": {text[proto]}, "family": {text[family]}, '
            f'"local_address": {text[address]}, "local_port": {port}, '
            f'"remote_address": {text[remote]}, '
            f'"remote_port": {"null" if remote_port is None else remote_port}, '
            f'"state": {text[state]}, {place}, {owner[id(held)]}, "ephemeral": {flag}, '
            f"{counters}}}"
        )
    return rows


def object_text(members: Mapping[str, Any], written: Collection[str] = ()) -> str:
    """`json.dumps(members)`, where the members named in `written` hold their JSON
    text already."""
    parts = (
        f"{json.dumps(name)}: {value if name in written else json.dumps(value)}"
        for name, value in members.items()
    )
    return f"{{{', '.join(parts)}}}"


GROUP_COUNTS = ", ".join(
    f"{json.dumps(name)}: %s"
    for name in ("connections", "bytes_sent", "bytes_received", "segments_sent", "retransmits")
)
"""A group's Totals (whole numbers, never null) as one format."""


def traffic_text(traffic: TrafficReport) -> str:
    """`json.dumps(traffic_record(traffic))`. A destination is a group of its own for
    every peer's port, so at 20,000 connections there are about 10,000 of them: their
    records are written like the connection rows, from cached pieces, not as a dict
    and a GroupTraffic each."""
    groups = {kind: f"[{', '.join(group_rows(traffic, kind))}]" for kind in KINDS}
    return object_text({**traffic_summary(traffic), **groups}, KINDS)


def group_rows(traffic: TrafficReport, kind: GroupKind) -> list[str]:
    """Each group's record of `kind` as JSON text, busiest first."""
    if kind != "destinations":  # a few processes and namespaces: their records as they are
        return [json.dumps(group_record(group)) for group in traffic.top(kind)]
    totals, text = traffic.totals[KINDS.index(kind)], JsonText()
    moved = traffic.rates(kind) if traffic.total_rate is not None else None
    rates: dict[Rate | None, str] = {}
    rows = []
    for key in traffic.ranked(kind):
        address, port = key  # type: ignore[misc]
        rate = None if moved is None else moved.get(key, IDLE)
        shown = rates.get(rate)
        if shown is None:
            shown = rates[rate] = json.dumps(rate_record(rate))[1:-1]
        rows.append(
            f'{{"remote_address": {text[address]}, "remote_port": {port}, '
            f"{GROUP_COUNTS % totals[key]}, {shown}}}"
        )
    return rows
