"""One parser for the services(5) format: the bundled IANA file and the system's /etc/services.

Lines look like `name  port[-high]/proto[/proto...]  [aliases...]  [# description]`.
Wireshark's IANA copy merges protocols (`22/tcp/udp/sctp`) and writes ranges
(`6000-6063/tcp/udp`); plain /etc/services has one protocol per line. Anything that does
not parse is skipped rather than trusted: a local file may hold junk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from portscope.model import MAX_PORT

PROTOCOLS = ("tcp", "udp", "sctp", "dccp")
_PORTS = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", re.ASCII)


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """One usable line: a name on a port (or a span of ports) for some protocols."""

    name: str
    low: int
    high: int
    protocols: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    description: str = ""


def parse_line(line: str) -> ServiceLine | None:
    """The service on one line, or None for comments, blanks and junk."""
    body, _, comment = line.partition("#")
    fields = body.split()
    if len(fields) < 2:
        return None
    name, where, *aliases = fields
    ports, _, protos = where.partition("/")
    match = _PORTS.fullmatch(ports)
    if match is None:
        return None
    low = int(match.group(1))
    high = int(match.group(2) or low)
    protocols = tuple(p for p in PROTOCOLS if p in protos.lower().split("/"))
    if not protocols or not 0 <= low <= high <= MAX_PORT:
        return None
    return ServiceLine(
        name=name,
        low=low,
        high=high,
        protocols=protocols,
        aliases=tuple(aliases),
        description=" ".join(comment.split()),
    )


def parse_services(text: str) -> Iterator[ServiceLine]:
    """Every usable line of a services(5) file, in file order."""
    for line in text.splitlines():
        parsed = parse_line(line)
        if parsed is not None:
            yield parsed
