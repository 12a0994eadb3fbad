"""`lookup`: everything portscope knows about a port, a range or a name, in one record.

Joins the registry (IANA, /etc/services, notes), the port's RFC 6335 class, the host's
port rules and, when a snapshot is given, what uses the port here right now. Pure: the
caller reads the rules and the snapshot (`portscope.collect.read_port_rules`) and hands
them in.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from portscope.knowledge.bind import bind_verdict
from portscope.knowledge.classify import check_commands, iana_class, range_facts
from portscope.knowledge.query import NameQuery, PortQuery, Query, RangeQuery, parse_query
from portscope.knowledge.records import BindVerdict, Note, ServiceEntry
from portscope.knowledge.registry import Registry, default_registry
from portscope.model import EphemeralRange, PortRules, Snapshot, Socket

__all__ = [
    "BindVerdict",
    "LookupResult",
    "Note",
    "PortReport",
    "ServiceEntry",
    "lookup",
    "service_name",
]

DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class PortReport:
    """One port's card: what it is, how this OS treats it, and who uses it here now.

    `in_use` holds sockets with the port on either end, local ones first.
    """

    port: int
    iana_class: str
    ephemeral: bool
    reserved: bool
    services: tuple[ServiceEntry, ...]
    notes: tuple[Note, ...]
    in_use: tuple[Socket, ...]
    check_commands: tuple[str, ...]
    bind: BindVerdict
    range_facts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LookupResult:
    """Reports for the first `limit` matching ports; `total` counts every match."""

    query: str
    reports: tuple[PortReport, ...]
    total: int
    ephemeral_range: EphemeralRange
    parsed: Query | None = None
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Context:
    """What every report of one lookup shares."""

    registry: Registry
    rules: PortRules
    snapshot: Snapshot | None


def lookup(
    text: str,
    rules: PortRules,
    snapshot: Snapshot | None = None,
    limit: int = DEFAULT_LIMIT,
) -> LookupResult:
    """Answer a query under the host's `rules`, with the sockets of `snapshot` when given;
    raises QueryError (only) when `text` does not parse."""
    query = parse_query(text)
    context = Context(registry=default_registry(), rules=rules, snapshot=snapshot)
    ports = matching_ports(query, context)
    reports = tuple(port_report(port, context) for port in ports[: max(0, limit)])
    return LookupResult(
        query=text,
        reports=reports,
        total=len(ports),
        parsed=query,
        ephemeral_range=rules.ephemeral_range,
        snapshot=snapshot,
    )


def matching_ports(query: Query, context: Context) -> list[int]:
    """The ports a query is about, in the order they should be shown."""
    if isinstance(query, PortQuery):
        return [query.port]
    if isinstance(query, RangeQuery):
        return ports_in_range(query.low, query.high, context)
    return ports_named(query, context.registry)


def ports_in_range(low: int, high: int, context: Context) -> list[int]:
    """Ports in the range with something to say: an assignment, a note, or use here now."""
    known = context.registry.known_ports
    found = set(known[bisect.bisect_left(known, low) : bisect.bisect_right(known, high)])
    if context.snapshot is not None:
        found.update(p for p in socket_index(context.snapshot).local if low <= p <= high)
    return sorted(found)


def ports_named(query: NameQuery, registry: Registry) -> list[int]:
    """Exact service names first, then name prefixes, then keyword matches anywhere."""
    wanted = query.text.lower()
    words = wanted.split()
    exact = sorted({port for port, name in registry.names if name == wanted})
    prefix = sorted({port for port, name in registry.names if name.startswith(wanted)})
    keyword = sorted({port for port, text in registry.texts if all(w in text for w in words)})
    return list(dict.fromkeys([*exact, *prefix, *keyword]))


class SocketIndex:
    """A snapshot's sockets by local and by remote port, so a lookup never scans them all."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.local: dict[int, list[Socket]] = defaultdict(list)
        self.remote: dict[int, list[Socket]] = defaultdict(list)
        for sock in snapshot.sockets:
            self.local[sock.local_port].append(sock)
            if sock.remote_port is not None and sock.remote_port != sock.local_port:
                self.remote[sock.remote_port].append(sock)


_last_index: list[SocketIndex] = []


def socket_index(snapshot: Snapshot) -> SocketIndex:
    """The index of the latest snapshot asked about: built once per poll, then shared."""
    if _last_index and _last_index[0].snapshot is snapshot:
        return _last_index[0]
    index = SocketIndex(snapshot)
    _last_index[:] = [index]
    return index


def port_report(port: int, context: Context) -> PortReport:
    rules = context.rules
    rng = rules.ephemeral_range
    snapshot = context.snapshot
    index = socket_index(snapshot) if snapshot else None
    local = index.local.get(port, []) if index else []
    remote = index.remote.get(port, []) if index else []
    home = snapshot.home if snapshot else 0
    here = [s for s in local if s.netns in (home, 0)]
    elsewhere = [(s, snapshot.namespace_name(s.netns)) for s in local if s.netns not in (home, 0)]
    published = [p for p in (snapshot.published if snapshot else ()) if p.binding.host_port == port]
    return PortReport(
        port=port,
        iana_class=iana_class(port),
        ephemeral=port in rng,
        reserved=port in rng.reserved,
        services=context.registry.services(port),
        notes=context.registry.notes(port),
        in_use=(*local, *remote),
        check_commands=check_commands(port, rules.platform),
        bind=bind_verdict(
            port,
            here if snapshot else None,
            rng,
            rules.privileged,
            rules.unprivileged_start,
            elsewhere,
            published,
        ),
        range_facts=range_facts(port, rng),
    )


def service_name(port: int, proto: str = "tcp") -> str | None:
    """The registered name for a port, for table columns: a dict lookup once loaded."""
    return default_registry().service_name(port, proto)
