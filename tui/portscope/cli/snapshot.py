"""`portscope snapshot`: one poll, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from typing import Any

FORMATS = ("table", "json", "csv")
COLLECTION_FAILED = 1


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("snapshot", help="take one poll and print it")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json")
    fmt.add_argument("--csv", dest="format", action="store_const", const="csv")
    parser.add_argument(
        "--source",
        choices=("auto", "netlink", "procfs", "psutil"),
        default="auto",
        help="socket table source (auto: netlink, else /proc, on Linux; psutil elsewhere)",
    )
    parser.set_defaults(format="table", run=run)


def run(args: argparse.Namespace) -> int:
    from portscope.collect import take_snapshot
    from portscope.poller import describe_error
    from portscope.report.snapshot import to_csv, to_json, to_table

    try:
        snap = take_snapshot(args.source)
    except Exception as exc:
        print(f"portscope: snapshot failed: {describe_error(exc)}", file=sys.stderr)
        return COLLECTION_FAILED
    render = {"json": to_json, "csv": to_csv, "table": to_table}[args.format]
    sys.stdout.write(render(snap) + ("" if args.format == "csv" else "\n"))
    return 0
