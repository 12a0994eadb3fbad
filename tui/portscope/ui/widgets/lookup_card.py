"""The lookup card: one port's registry entries, range class, notes, live use and checks.

Built as `Content` from plain strings (never markup), so registry text and process
names are shown as they are; styles are theme variables only.
"""

from __future__ import annotations

from textual.content import Content

from portscope.knowledge import LookupResult, PortReport
from portscope.model import Socket
from portscope.report.safe import printable

HEADING = "bold $text-accent"
LABEL = "$text-muted"
WARN = "$text-warning"
MAX_LIVE = 8

CLASS_NAMES = {
    "system": "system port (0–1023)",
    "user": "registered/user port (1024–49151)",
    "dynamic": "dynamic/private port (49152–65535)",
}


def _live(sock: Socket) -> str:
    owner = sock.owner
    who = f"{printable(owner.name, 32) or '?'} (pid {owner.pid})" if owner else "owner hidden"
    peer = f" → {sock.remote_address}:{sock.remote_port}" if sock.remote_address else ""
    state = sock.state or ("bound" if sock.proto == "udp" else "")
    return f"{sock.proto} {sock.local_address}:{sock.local_port}{peer} {state} · {who}"


def report_card(report: PortReport) -> Content:
    lines: list[Content] = [
        Content.assemble(
            (f"port {report.port}", HEADING),
            "  ",
            (CLASS_NAMES.get(report.iana_class, report.iana_class), LABEL),
        ),
    ]
    eph = "yes — this kernel lends it to outgoing connections" if report.ephemeral else "no"
    lines.append(Content.assemble(("ephemeral here: ", LABEL), eph))
    if report.reserved:
        lines.append(
            Content.assemble(("reserved: ", LABEL), ("yes (ip_local_reserved_ports)", WARN))
        )
    if report.services:
        for entry in report.services:
            protos = "/".join(entry.protocols)
            text = (
                f"{printable(entry.name)} ({protos}) {printable(entry.description, 120)}".rstrip()
            )
            lines.append(Content.assemble((f"{entry.source}: ", LABEL), text))
    else:
        lines.append(Content.assemble(("IANA: ", LABEL), "unassigned"))
    for note in report.notes:
        lines.append(
            Content.assemble(
                ("note: ", LABEL), printable(note.text, 200), (f"  [{note.source}]", LABEL)
            )
        )
    if report.in_use:
        lines.append(Content.styled("live use here:", LABEL))
        lines.extend(Content("  " + printable(_live(s), 160)) for s in report.in_use[:MAX_LIVE])
        if len(report.in_use) > MAX_LIVE:
            lines.append(Content.styled(f"  … and {len(report.in_use) - MAX_LIVE} more", LABEL))
    else:
        lines.append(Content.assemble(("live use here: ", LABEL), "none right now"))
    verdict = report.bind.verdict
    lines.append(
        Content.assemble(
            ("bind: ", LABEL), (printable(verdict, 160), "" if report.bind.can_bind else WARN)
        )
    )
    if report.check_commands:
        lines.append(Content.styled("how to check:", LABEL))
        lines.extend(Content("  $ " + printable(c, 160)) for c in report.check_commands)
    return Content("\n").join(lines)


def result_card(result: LookupResult) -> Content:
    cards = [report_card(r) for r in result.reports]
    if not cards:
        return Content.styled(f"nothing matches {printable(result.query, 60)!r}", LABEL)
    body = Content("\n\n").join(cards)
    if result.total > len(result.reports):
        more = f"\n\nshowing {len(result.reports)} of {result.total}; narrow the query"
        body = body + Content.styled(more, LABEL)
    return body
