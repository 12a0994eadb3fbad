"""Connection records as JSON text, written straight from the sockets.

At 20,000 sockets, building a dict per connection and running json's encoder over
them was a large share of `portscope snapshot --json` after the collect (BENCHMARKS.md,
"Behind the code"). A row's text here is one f-string whose string pieces come from
small caches (a few addresses, states and owners repeat across thousands of rows), each
produced by `json.dumps` itself, so the output is byte for byte what
`json.dumps(connection_record(...))` writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from operator import attrgetter

from portscope.analysis.traffic import TrafficReport
from portscope.model import Snapshot, Socket
from portscope.report.owner import netns_members, owner_record
from portscope.report.traffic import TRAFFIC_FIELDS, traffic_values


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


COUNTERS = ", ".join(f"{json.dumps(name)}: %s" for name in TRAFFIC_FIELDS[:-2])
"""The numeric traffic members as one format: `%s` writes an int or a float as json
does (float's repr), and None as `None`, which is then the one word to make `null`."""


@lru_cache(maxsize=64)
def flags_json(flags: tuple[str, ...]) -> str:
    return json.dumps(list(flags))


def traffic_text(values: tuple[object, ...], text: JsonText, without: dict[object, str]) -> str:
    """The traffic members of a row; a socket without counters shares its text with
    every other that lacks them for the same reason."""
    reason = values[-1]
    if reason is not None:
        found = without.get(reason)
        if found is None:
            members = ", ".join(f"{json.dumps(name)}: null" for name in TRAFFIC_FIELDS[:-2])
            found = without[reason] = (
                f'{members}, "flags": [], "traffic_unavailable": {text[reason]}'
            )
        return found
    numbers = (COUNTERS % values[:-2]).replace("None", "null")
    return f'{numbers}, "flags": {flags_json(values[-2])}, "traffic_unavailable": null'


def connection_rows(snapshot: Snapshot, traffic: TrafficReport | None = None) -> list[str]:
    """`json.dumps(connection_record(sock, snapshot, traffic))` for every connection, in
    order.

    `is_ephemeral` depends only on the protocol, the local port, the namespace and
    whether the socket is a listener (its state, and for UDP whether it has a peer), so
    it is asked once per such combination."""
    sockets = snapshot.connections
    text, owner = JsonText(), owner_members(sockets)
    without: dict[object, str] = {}
    ephemeral: dict[tuple[str, int, str | None, bool, int], str] = {}
    places: dict[int, str] = {}
    rows = []
    for sock, (proto, family, address, port, remote, remote_port, state, held, netns) in zip(
        sockets, map(ROW_FIELDS, sockets), strict=True
    ):
        place = places.get(netns)
        if place is None:
            place = places[netns] = json.dumps(netns_members(sock, snapshot))[1:-1]
        judged = (proto, port, state, remote is None, netns)
        flag = ephemeral.get(judged)
        if flag is None:
            flag = ephemeral[judged] = "true" if snapshot.is_ephemeral(sock) else "false"
        rows.append(
            f'{{"proto": {text[proto]}, "family": {text[family]}, '
            f'"local_address": {text[address]}, "local_port": {port}, '
            f'"remote_address": {text[remote]}, '
            f'"remote_port": {"null" if remote_port is None else remote_port}, '
            f'"state": {text[state]}, {place}, {owner[id(held)]}, "ephemeral": {flag}, '
            f"{traffic_text(traffic_values(sock, snapshot, traffic), text, without)}}}"
        )
    return rows
