"""`portscope lookup QUERY`: what a port (or range, or service name) is, and who uses it here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portscope.cli.numbers import Number

if TYPE_CHECKING:
    from portscope.model import Snapshot

COLLECTION_FAILED = 1
MAX_LIMIT = 65536
"""Every port there is: a larger limit would mean the same."""
LIMIT = Number("a whole number", 0, MAX_LIMIT, whole=True)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "lookup",
        help="what is port N: registry, range class, notes, live use, bind verdict",
        description="QUERY is a port (60630), a range (8000-8100) or a service name or "
        "keyword (ssh, Xsan). Everything is answered offline from bundled data.",
    )
    parser.add_argument("query", metavar="QUERY")
    parser.add_argument("--json", action="store_true", help="print the portscope.lookup/1 JSON")
    parser.add_argument(
        "--offline",
        "--no-live",
        dest="live",
        action="store_false",
        help="skip reading this machine's sockets (no 'in use' or live bind check)",
    )
    parser.add_argument(
        "--limit", type=LIMIT, default=50, help="show at most this many ports (default 50)"
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        type=Path,
        help="the history database the History section reads (default: the recorder's, "
        "as `portscope history` reads it; read with --offline too, as it is a local file)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from portscope.cli.errors import UsageError
    from portscope.cli.output import emit
    from portscope.collect import read_port_rules
    from portscope.history.paths import default_db
    from portscope.history.query import port_histories
    from portscope.knowledge import QueryError, lookup, parse_query
    from portscope.report.lookup import to_json, to_text

    try:
        parse_query(args.query)
    except QueryError as exc:
        raise UsageError(f"lookup: {exc}") from None
    snapshot = take_live_snapshot() if args.live else None
    result = lookup(args.query, read_port_rules(snapshot), snapshot, limit=args.limit)
    history = port_histories(args.db or default_db(), [r.port for r in result.reports])
    emit((to_json(result, history) if args.json else to_text(result, history)) + "\n")
    return 0


def take_live_snapshot() -> Snapshot | None:
    """This machine's sockets now, of every namespace when run in the host's (as
    `snapshot`); on failure, say so and carry on with the offline answer."""
    from portscope.collect import default_scope, take_snapshot

    try:
        return take_snapshot(namespaces=default_scope())
    except Exception as exc:  # any collector failure still leaves the offline answer
        from portscope.failures import survived

        survived("live data for the lookup", exc)
        print(f"portscope: live data unavailable: {type(exc).__name__}", file=sys.stderr)
        return None
