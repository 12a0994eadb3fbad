"""The lookup card as data: what one port is, in labelled sections, for the CLI and the pane.

Built once from a `PortReport`; `portscope lookup` lays it out as text
(report/lookup.py) and the Lookup pane as Textual content (ui/widgets/lookup_card.py),
so the card says the same in both places. Spans carry a style *name*, never markup,
and every text from the registry or the system is made printable here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from portscope.history.records import PortHistories
from portscope.knowledge import LookupResult, PortReport, ServiceEntry
from portscope.knowledge.classify import describe_class
from portscope.knowledge.records import IANA
from portscope.model import Snapshot, Socket, endpoint, proto_label
from portscope.sanitise import printable
from portscope.view.history import use_line, use_notes

SpanStyle = Literal["heading", "value", "warning", "dim"]


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text and what it is; each renderer maps the style name to its own look."""

    text: str
    style: SpanStyle = "value"


Line = tuple[Span, ...]
"""One line of the card: never empty, so a renderer can style it from its first span."""


def line_text(line: Line) -> str:
    return "".join(span.text for span in line)


@dataclass(frozen=True, slots=True)
class Section:
    """One labelled field of the card (`Class`, `Here now`, ...), with at least one line."""

    heading: str
    lines: tuple[Line, ...]

    @property
    def texts(self) -> list[str]:
        return [line_text(line) for line in self.lines]


@dataclass(frozen=True, slots=True)
class Card:
    title: Line
    sections: tuple[Section, ...]

    def section(self, heading: str) -> Section | None:
        return next((s for s in self.sections if s.heading == heading), None)


@dataclass(frozen=True, slots=True)
class CardOptions:
    """What the card says differently where it is shown: the CLI, or the dashboard's pane."""

    unchecked: str
    """`Here now` without a snapshot: the CLI ran --offline, or the pane awaits its first poll."""
    shown_sockets: int
    more_sockets: str
    """The line after the first `shown_sockets` sockets, formatted with how many more."""
    prompt: str = ""
    """Put before each command of `Check`."""


def section(heading: str, texts: Iterable[str], style: SpanStyle = "value") -> Section:
    """A section of one-span lines, each made printable; `-` when there is nothing to say."""
    lines = tuple((Span(printable(text), style),) for text in texts)
    return Section(heading, lines or ((Span("-", style),),))


def service_title(entry: ServiceEntry) -> str:
    span = f" (ports {entry.span[0]}-{entry.span[1]})" if entry.span else ""
    return f"{entry.name} [{'/'.join(entry.protocols)}]{span}"


def service_line(entry: ServiceEntry) -> str:
    about = f" - {entry.description}" if entry.description else ""
    return service_title(entry) + about


def socket_line(sock: Socket, snapshot: Snapshot | None = None) -> str:
    """`tcp LISTEN 127.0.0.1:60630  vite (pid 3105, dev)`: a socket as `Here now` lists it,
    with the container or unit its process runs in (`in web1`), the network namespace
    it lives in when that is not the one the snapshot was taken in (`netns web1`:
    ports are per namespace), and a published port's holder with where it forwards
    (`→ web2:8082 (python3)`)."""
    where = endpoint(sock.local_address, sock.local_port)
    if sock.remote_address is not None:
        where += " -> " + endpoint(sock.remote_address, sock.remote_port)
    owner = sock.owner
    who = f"{owner.name or '?'} (pid {owner.pid}, {owner.user or '?'})" if owner else "hidden"
    if owner is not None and owner.where:
        who += f" in {owner.where}"
    if snapshot is not None and sock.netns not in (snapshot.home, 0):
        who += f", netns {snapshot.namespace_name(sock.netns)}"
    held = snapshot.held_for(sock) if snapshot is not None else None
    if held is not None:
        who += f" → {held.target}"
    return f"{proto_label(sock.proto, sock.family)} {sock.state_label} {where}  {who}"


def here_now(report: PortReport, snapshot: Snapshot | None, options: CardOptions) -> Section:
    """The sockets on the port now, the first `shown_sockets` of them, and why some owners
    are hidden; first, a container's port published on it that only NAT rules forward
    (Docker with its userland proxy off), which no socket shows."""
    if snapshot is None:
        return section("Here now", [options.unchecked])
    forwarded = [
        f"published {p.host_side} → {p.target} (NAT rules only: no host listener)"
        for p in snapshot.published
        if p.holder is None and p.binding.host_port == report.port
    ]
    if not report.in_use:
        return section("Here now", forwarded or ["nothing on this machine uses it right now"])
    shown = options.shown_sockets
    texts = [*forwarded, *(socket_line(s, snapshot) for s in report.in_use[:shown])]
    if len(report.in_use) > shown:
        texts.append(options.more_sockets.format(len(report.in_use) - shown))
    lines = section("Here now", texts).lines
    if not snapshot.privileged and any(s.owner is None for s in report.in_use):
        hint = "(hidden owners belong to other users: run as root to see them)"
        lines += ((Span(hint, "dim"),),)
    return Section("Here now", lines)


def history_section(report: PortReport, history: PortHistories) -> list[Section]:
    """`History`: the port's last recorded use and how often (`view.history.use_line`),
    what that cannot tell, or why there is no history to ask; none for a port the
    history was not asked about."""
    if history.unavailable is not None:
        return [section("History", [history.unavailable], "dim")]
    found = history.ports.get(report.port)
    if found is None:
        return []
    notes = [*use_notes(found), *([history.source] if history.source else [])]
    dimmed = tuple((Span(printable(note), "dim"),) for note in notes)
    return [Section("History", section("History", [use_line(found)]).lines + dimmed)]


def port_card(
    report: PortReport,
    snapshot: Snapshot | None,
    options: CardOptions,
    history: PortHistories | None = None,
) -> Card:
    """The card of one port: the registry's names, this OS's ranges, live use, its
    recorded history when asked for, bind verdict."""
    registered = [e for e in report.services if e.source == IANA]
    local = [service_line(e) for e in report.services if e.source != IANA]
    title = service_title(registered[0]) if registered else "unassigned"
    bind = report.bind
    sections = [
        section("Class", [describe_class(report.port)]),
        section("Ephemeral", report.range_facts),
        section("IANA", [service_line(e) for e in registered] or ["unassigned"]),
        *([section("This system", local)] if local else []),
        section("Known uses", [f"{n.text} [{n.source}]" for n in report.notes]),
        here_now(report, snapshot, options),
        *(history_section(report, history) if history is not None else []),
        section(
            "Can I bind?",
            [bind.verdict, *(f"- {r}" for r in bind.reasons)],
            "value" if bind.can_bind else "warning",
        ),
        section("Check", [options.prompt + c for c in report.check_commands]),
    ]
    heading = Span(f"Port {report.port} - {printable(title)}", "heading")
    return Card(title=(heading,), sections=tuple(sections))


def lookup_cards(
    result: LookupResult, options: CardOptions, history: PortHistories | None = None
) -> tuple[Card, ...]:
    """A card for every port the lookup reports, with the use its snapshot saw and, when
    given, what the history recorded (`HistoryReader.last_use` of each port)."""
    return tuple(port_card(r, result.snapshot, options, history) for r in result.reports)
