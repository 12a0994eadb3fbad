"""Port knowledge: the bundled IANA registry, /etc/services, sourced notes, and lookups.

Headless: never imports textual, so `portscope lookup` starts fast and the dashboard can
call `lookup` from anywhere. Pure: it reads no sockets or sysctls; callers hand it the
host's `PortRules` and a snapshot.
"""

from portscope.knowledge.lookup import (
    BindVerdict,
    LookupResult,
    Note,
    PortReport,
    ServiceEntry,
    lookup,
    service_name,
)
from portscope.knowledge.query import (
    NameQuery,
    PortQuery,
    Query,
    QueryError,
    RangeQuery,
    parse_query,
)

__all__ = [
    "BindVerdict",
    "LookupResult",
    "NameQuery",
    "Note",
    "PortQuery",
    "PortReport",
    "Query",
    "QueryError",
    "RangeQuery",
    "ServiceEntry",
    "lookup",
    "parse_query",
    "service_name",
]
