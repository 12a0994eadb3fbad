"""The lookup card as the dashboard shows it: the CLI card's fields, styled by the theme.

Field names and wording follow `portscope lookup` (report/lookup.py), and the socket
lines come from there too, so the card reads the same in both places. Built as
`Content` from plain strings (never markup), so registry text and process names stay
inert; styles are theme variables only.
"""

from __future__ import annotations

from textual.content import Content

from portscope.knowledge import LookupResult, PortReport
from portscope.knowledge.classify import describe_class
from portscope.knowledge.records import IANA, ServiceEntry
from portscope.report.lookup import socket_line
from portscope.sanitise import printable

HEADING = "bold $text-accent"
LABEL = "dim"
FIELD = "bold"
INDENT = "\u00a0\u00a0"
"""No-break spaces: the card wraps, and wrapping drops ordinary leading spaces."""
WARN = "$text-warning"
MAX_LIVE = 8


def _service(entry: ServiceEntry) -> str:
    about = f" - {entry.description}" if entry.description else ""
    return f"{entry.name} [{'/'.join(entry.protocols)}]{about}"


def _field(label: str, lines: list[str], style: str = "") -> list[Content]:
    out = [Content.styled(label, FIELD)]
    out += [Content.styled(INDENT + printable(line, 300), style) for line in lines or ["-"]]
    return out


def _here_now(report: PortReport, live: bool) -> list[str]:
    if not live:
        return ["waiting for the first poll"]
    if not report.in_use:
        return ["nothing on this machine uses it right now"]
    lines = [socket_line(s) for s in report.in_use[:MAX_LIVE]]
    if len(report.in_use) > MAX_LIVE:
        lines.append(f"… and {len(report.in_use) - MAX_LIVE} more")
    return lines


def report_card(report: PortReport, live: bool) -> Content:
    registered = [e for e in report.services if e.source == IANA]
    local = [_service(e) for e in report.services if e.source != IANA]
    title = registered[0].name if registered else "unassigned"
    lines = [Content.styled(f"Port {report.port} - {printable(title, 60)}", HEADING)]
    lines += _field("Class", [describe_class(report.port)])
    lines += _field("Ephemeral", list(report.range_facts))
    lines += _field("IANA", [_service(e) for e in registered] or ["unassigned"])
    if local:
        lines += _field("This system", local)
    lines += _field("Known uses", [f"{n.text} [{n.source}]" for n in report.notes])
    lines += _field("Here now", _here_now(report, live))
    bind = [report.bind.verdict, *(f"- {r}" for r in report.bind.reasons)]
    lines += _field("Can I bind?", bind, "" if report.bind.can_bind else WARN)
    lines += _field("Check", ["$ " + c for c in report.check_commands])
    return Content("\n").join(lines)


def result_card(result: LookupResult) -> Content:
    live = result.snapshot is not None
    cards = [report_card(r, live) for r in result.reports]
    if not cards:
        return Content.styled(f"nothing matches {printable(result.query, 60)!r}", LABEL)
    body = Content("\n\n").join(cards)
    if result.total > len(result.reports):
        more = f"\n\nshowing {len(result.reports)} of {result.total}; narrow the query"
        body = body + Content.styled(more, LABEL)
    return body
