"""`portscope history`: what the recorder saw, newest first, with counts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from portscope.cli.numbers import Number
from portscope.cli.spans import moment

PORT = Number("a port", 1, 65535, whole=True)
LIMIT = Number("a whole number", 1, 100_000, whole=True)
DEFAULT_WINDOW = 86_400.0
READ_FAILED = 1
"""A history that opened but could not be read (a damaged page): the run failed."""


def remote(text: str) -> tuple[str, int | None]:
    """`ADDR`, `ADDR:PORT` or `[IPv6]:PORT` as (address, port or None)."""
    from portscope.addresses import parse_ip

    address, port = text, None
    if text.startswith("["):
        address, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            address = ""
        port = rest[1:] or None
    elif text.count(":") == 1:
        address, port = text.split(":")
    if parse_ip(address) is None or "%" in address:
        raise argparse.ArgumentTypeError(
            f"{text[:60]!r} is not an address, ADDR:PORT or [IPv6]:PORT"
        )
    return address, None if port is None else int(PORT(port))


def add_parser(commands: Any) -> None:
    summary = "recorded connections and listener events, newest first, with counts"
    parser = commands.add_parser("history", help=summary, description=summary)
    parser.add_argument("--port", type=PORT, help="either end of a connection, or a listener's")
    parser.add_argument("--process", metavar="NAME", help="the process name, exactly")
    parser.add_argument("--remote", type=remote, metavar="ADDR[:PORT]", help="the far end")
    parser.add_argument(
        "--netns",
        metavar="SELECTOR",
        help="one network namespace: host, an `ip netns` or container name (as it was "
        "when recorded), an inode or netns:INODE",
    )
    parser.add_argument(
        "--since", type=moment, metavar="DURATION|TIME", help="from (default: 24h ago)"
    )
    parser.add_argument("--until", type=moment, metavar="DURATION|TIME", help="to (default: now)")
    parser.add_argument(
        "--limit", type=LIMIT, default=50, help="rows of each kind shown (default %(default)d)"
    )
    parser.add_argument("--db", metavar="PATH", type=Path, help="the history database")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json")
    fmt.add_argument("--csv", dest="format", action="store_const", const="csv")
    parser.set_defaults(format="table", run=run)


def run(args: argparse.Namespace) -> int:
    import sqlite3
    import sys
    import time

    from portscope.cli.errors import UsageError
    from portscope.cli.output import emit
    from portscope.history.database import read_failure
    from portscope.history.paths import HistoryRefused, default_db
    from portscope.history.query import HistoryReader
    from portscope.history.records import HistoryFilter
    from portscope.report.history import to_csv, to_json, to_text

    now = time.time()
    until = args.until if args.until is not None else now
    since = args.since if args.since is not None else until - DEFAULT_WINDOW
    if since > until:
        raise UsageError("history: --since is after --until")
    address, remote_port = args.remote or (None, None)
    wanted = HistoryFilter(
        since, until, args.port, args.process, address, remote_port, args.netns or None
    )
    database = args.db or default_db()
    try:
        reader = HistoryReader.open(database)
    except HistoryRefused as exc:
        raise UsageError(f"history: {exc}") from None
    try:
        page = reader.recent(wanted, int(args.limit))
    except sqlite3.Error as exc:
        print(f"portscope: history: {read_failure(database, exc)}", file=sys.stderr)
        return READ_FAILED
    finally:
        reader.close()
    if args.format == "json":
        emit(to_json(page, database) + "\n")
    elif args.format == "csv":
        emit(to_csv(page))
    else:
        emit(to_text(page, database) + "\n")
    return 0
