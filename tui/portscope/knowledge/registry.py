"""The port registry: bundled IANA data, the system's /etc/services, and the notes.

Loaded once, lazily, and shaped for the common question: the IANA file is JSON keyed by
port, so a cold `portscope lookup 22` costs one json.loads; the name index that keyword
searches need is built only when the first one arrives.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from portscope.knowledge.notes import NoteLine, parse_notes
from portscope.knowledge.records import IANA, SYSTEM, Note, ServiceEntry
from portscope.knowledge.services_file import ServiceLine, parse_services
from portscope.sanitise import decoded

DATA = Path(__file__).resolve().parent / "data"
IANA_FILE = DATA / "iana.json"
NOTES_FILE = DATA / "notes.txt"
SYSTEM_SERVICES = Path("/etc/services")


def read_text(path: Path) -> str:
    """A file's text (bytes that are not UTF-8 as `\\xNN`, as everywhere), or nothing when
    it is missing or unreadable (an optional overlay)."""
    try:
        return decoded(path.read_bytes())
    except OSError:
        return ""


class Registry:
    """Every source behind one small interface: services, notes and names by port."""

    def __init__(self, iana: dict[str, Any], system_text: str, notes_text: str) -> None:
        self.provenance: dict[str, Any] = iana["provenance"]
        self._iana: dict[str, list[list[Any]]] = iana["ports"]
        self._system: dict[int, list[ServiceEntry]] = defaultdict(list)
        self._system_names: list[tuple[int, str]] = []
        for line in _merge_protocols(parse_services(system_text)):
            self._add_system(line)
        self._notes: dict[int, list[Note]] = defaultdict(list)
        self._span_notes: list[NoteLine] = []
        for note in parse_notes(notes_text):
            if note.low == note.high:
                self._notes[note.low].append(note.note)
            else:
                self._span_notes.append(note)
        self._services: dict[int, tuple[ServiceEntry, ...]] = {}

    def _add_system(self, line: ServiceLine) -> None:
        """/etc/services fills gaps and shows local names; one that IANA already gives is
        still searchable but not shown twice."""
        span = (line.low, line.high) if line.high > line.low else None
        entry = ServiceEntry(line.name, line.protocols, _local_description(line), SYSTEM, span)
        self._system_names += [(line.low, name) for name in (line.name, *line.aliases)]
        for port in range(line.low, line.high + 1):
            iana_names = {row[0].lower() for row in self._iana.get(str(port), ())}
            if line.name.lower() not in iana_names:
                self._system[port].append(entry)

    def services(self, port: int) -> tuple[ServiceEntry, ...]:
        """IANA's assignments for the port, then the local ones; empty means unassigned."""
        found = self._services.get(port)
        if found is None:
            rows = self._iana.get(str(port), ())
            found = (*map(_iana_entry, rows), *self._system.get(port, ()))
            self._services[port] = found
        return found

    def notes(self, port: int) -> tuple[Note, ...]:
        spanning = (n.note for n in self._span_notes if n.low <= port <= n.high)
        return (*self._notes.get(port, ()), *spanning)

    def service_name(self, port: int, proto: str = "tcp") -> str | None:
        """The first name registered for this port and protocol, IANA before local."""
        return next((e.name for e in self.services(port) if proto in e.protocols), None)

    @cached_property
    def known_ports(self) -> list[int]:
        ports = {int(p) for p in self._iana} | self._system.keys() | self._notes.keys()
        return sorted(ports)

    @cached_property
    def names(self) -> list[tuple[int, str]]:
        """(first port, lower-case name) for every IANA name and local name or alias."""
        found = {
            (_first_port(int(port), row), row[0].lower())
            for port, rows in self._iana.items()
            for row in rows
        }
        found.update((port, name.lower()) for port, name in self._system_names)
        return sorted(found)

    @cached_property
    def texts(self) -> list[tuple[int, str]]:
        """(port, lower-case searchable text): every name with its description, every note."""
        found: dict[tuple[int, str], None] = {}
        for port in self.known_ports:
            for entry in self.services(port):
                first = entry.span[0] if entry.span else port
                found[(first, f"{entry.name} {entry.description}".lower())] = None
            for note in self._notes.get(port, ()):
                found[(port, note.text.lower())] = None
        for line in self._span_notes:
            found[(line.low, line.note.text.lower())] = None
        return list(found)


def _first_port(port: int, row: list[Any]) -> int:
    """A range assignment is found at its first port, not at each of its ports."""
    return int(row[3]) if len(row) > 3 else port


def _iana_entry(row: list[Any]) -> ServiceEntry:
    span = (int(row[3]), int(row[4])) if len(row) > 3 else None
    return ServiceEntry(row[0], tuple(row[1].split("/")), row[2], IANA, span)


def _local_description(line: ServiceLine) -> str:
    aliases = f" (aliases: {' '.join(line.aliases)})" if line.aliases else ""
    comment = f": {line.description}" if line.description else ""
    return f"local name in {SYSTEM_SERVICES}{aliases}{comment}"


def _merge_protocols(lines: Iterable[ServiceLine]) -> Iterator[ServiceLine]:
    """/etc/services repeats a name once per protocol; fold those into one entry."""
    merged: dict[tuple[str, int, int], ServiceLine] = {}
    for line in lines:
        key = (line.name, line.low, line.high)
        seen = merged.get(key)
        if seen is not None:
            line = ServiceLine(
                line.name,
                line.low,
                line.high,
                tuple(dict.fromkeys(seen.protocols + line.protocols)),
                tuple(dict.fromkeys(seen.aliases + line.aliases)),
                seen.description or line.description,
            )
        merged[key] = line
    yield from merged.values()


def load_registry(system_services: Path = SYSTEM_SERVICES) -> Registry:
    return Registry(
        iana=json.loads(IANA_FILE.read_bytes()),
        system_text=read_text(system_services),
        notes_text=NOTES_FILE.read_text(encoding="utf-8"),
    )


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry every caller shares; built on first use."""
    return load_registry()
