"""`portscope snapshot`: one poll, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from portscope.cli.filtering import add_filter_option

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
    parser.add_argument(
        "--proc-root",
        metavar="DIR",
        help="read the socket tables, fd links and ephemeral range from this procfs mount "
        "instead of /proc",
    )
    add_filter_option(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE instead of standard output: a file is replaced atomically "
        "(keeping its owner and mode; a symlink planted there is replaced, not followed), "
        "a device, FIFO or terminal is written into",
    )
    parser.set_defaults(format="table", run=run)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection for one poll's worth of records: at 20k sockets its
    passes over the new, all still live, objects find nothing and slow a cold snapshot
    (BENCHMARKS.md, "Behind the code")."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run(args: argparse.Namespace) -> int:
    with cyclic_gc_paused():
        return take_and_write(args)


def take_and_write(args: argparse.Namespace) -> int:
    from portscope.cli.output import emit
    from portscope.collect import take_snapshot
    from portscope.failures import survived
    from portscope.report.snapshot import to_csv, to_json, to_table
    from portscope.sanitise import printable
    from portscope.view.filters import select

    source = "procfs" if args.proc_root and args.source == "auto" else args.source
    if args.proc_root:
        import psutil

        # Owners must come from the same procfs as the fd links: its pids may differ.
        psutil.PROCFS_PATH = args.proc_root
    try:
        snap = take_snapshot(source, proc_root=args.proc_root or "/proc")
    except Exception as exc:
        print(f"portscope: {survived('snapshot', exc).notice}", file=sys.stderr)
        return COLLECTION_FAILED
    for error in snap.errors:
        print(f"portscope: warning: {printable(error)}", file=sys.stderr)
    snap = select(snap, args.filter)
    render = {"json": to_json, "csv": to_csv, "table": to_table}[args.format]
    emit(render(snap) + ("" if args.format == "csv" else "\n"), args.output)
    return 0
