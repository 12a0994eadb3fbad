"""`portscope lookup` output: each port's card (view/card.py) as text, and the JSON record."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from portscope.history.records import PortHistories
from portscope.knowledge.lookup import LookupResult, PortReport
from portscope.knowledge.query import NameQuery, RangeQuery
from portscope.knowledge.records import ServiceEntry
from portscope.knowledge.registry import default_registry
from portscope.model import Snapshot, Socket
from portscope.report.history import port_history_record
from portscope.report.snapshot import connection_record, listener_record
from portscope.sanitise import printable
from portscope.view.card import Card, CardOptions, line_text, lookup_cards

SCHEMA = "portscope.lookup/1"
WIDTH = 100
LABEL = 13
CLI_CARD = CardOptions(
    unchecked="not checked (--offline)",
    shown_sockets=20,
    more_sockets="... and {} more (see --json)",
)


def service_record(entry: ServiceEntry) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": entry.name,
        "protocols": list(entry.protocols),
        "description": entry.description,
        "source": entry.source,
    }
    if entry.span:
        record["range"] = list(entry.span)
    return record


def socket_record(sock: Socket, snapshot: Snapshot | None) -> dict[str, Any]:
    """Shaped as in `snapshot --json`: a listener or a connection record, marked which."""
    if sock.is_listener or snapshot is None:
        return {"kind": "listener", **listener_record(sock, snapshot)}
    return {"kind": "connection", **connection_record(sock, snapshot)}


def report_record(
    report: PortReport, snapshot: Snapshot | None, history: PortHistories | None = None
) -> dict[str, Any]:
    found = history.ports.get(report.port) if history is not None else None
    record: dict[str, Any] = {
        "port": report.port,
        "iana_class": report.iana_class,
        "ephemeral": report.ephemeral,
        "reserved": report.reserved,
        "services": [service_record(e) for e in report.services],
        "notes": [{"text": n.text, "source": n.source} for n in report.notes],
        "in_use": [socket_record(s, snapshot) for s in report.in_use],
        "check_commands": list(report.check_commands),
        "bind": {
            "can_bind": report.bind.can_bind,
            "verdict": report.bind.verdict,
            "reasons": list(report.bind.reasons),
        },
        "range_facts": list(report.range_facts),
    }
    if history is not None:
        record["history"] = None if found is None else port_history_record(found)
    return record


def lookup_record(result: LookupResult, history: PortHistories | None = None) -> dict[str, Any]:
    """The `portscope.lookup/1` document; fields may be added, never renamed. With
    `history`, each result has its `history` and the document says if none was read."""
    registry = default_registry().provenance
    record: dict[str, Any] = {
        "schema": SCHEMA,
        "query": result.query,
        "live": result.snapshot is not None,
        "ephemeral_range": {
            "low": result.ephemeral_range.low,
            "high": result.ephemeral_range.high,
            "source": result.ephemeral_range.source,
        },
        "results": [report_record(r, result.snapshot, history) for r in result.reports],
        "total": result.total,
        "registry": {k: registry[k] for k in ("source", "version", "released")},
    }
    if history is not None:
        record["history_unavailable"] = history.unavailable
    return record


def to_json(result: LookupResult, history: PortHistories | None = None) -> str:
    return json.dumps(lookup_record(result, history), indent=1)


def _field(label: str, lines: list[str]) -> list[str]:
    """A labelled block: the label once, every line wrapped and indented under it."""
    out: list[str] = []
    for i, line in enumerate(lines):
        head = (label if i == 0 else "").ljust(LABEL)
        wrapped = textwrap.wrap(
            line,
            WIDTH,
            initial_indent="  " + head,
            subsequent_indent=" " * (LABEL + 4),
        )
        out += wrapped or ["  " + head]
    return out


def card_text(card: Card) -> str:
    """The card as plain text: the title, then each section's label beside its lines."""
    lines = [line_text(card.title)]
    for section in card.sections:
        lines += _field(section.heading, section.texts)
    return "\n".join(lines)


def summary(result: LookupResult) -> str | None:
    """The line under the cards: how many matched, and what the rest of a range is."""
    shown, total = len(result.reports), result.total
    query = result.parsed
    if isinstance(query, RangeQuery):
        span = f"{query.low}-{query.high}"
        rest = query.high - query.low + 1 - total
        if result.snapshot is None:
            what, others = "assigned or noted", "unassigned (use here not checked: --offline)"
        else:
            what, others = "assigned, noted or in use", "unassigned and unused here"
        if total == 0:
            return f"nothing in {span} is {what}: all {rest} ports are {others}"
        head = f"showing {shown} of {total} ports in {span} that are {what}"
        return f"{head}; the other {rest} are {others}"
    if isinstance(query, NameQuery):
        if total == 0:
            return f"no service name, description or note matches {printable(query.text)!r}"
        return f"showing {shown} of {total} ports matching {printable(query.text)!r}"
    return None


def to_text(result: LookupResult, history: PortHistories | None = None) -> str:
    parts = [card_text(card) for card in lookup_cards(result, CLI_CARD, history)]
    footer = summary(result)
    if footer:
        parts.append(footer)
    return "\n\n".join(parts)
