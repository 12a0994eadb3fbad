"""`portscope snapshot`: one poll, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from portscope.cli.options import add_output_option, add_source_options, chosen_source

if TYPE_CHECKING:
    from portscope.model import Snapshot

from portscope.cli.filtering import add_filter_option

FORMATS = ("table", "json", "csv")
COLLECTION_FAILED = 1


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("snapshot", help="take one poll and print it")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json")
    fmt.add_argument("--csv", dest="format", action="store_const", const="csv")
    add_source_options(parser)
    add_filter_option(parser)
    add_output_option(parser)
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
    from portscope.report.snapshot import to_csv, to_json, to_table
    from portscope.view.filters import select

    snap = one_poll(args)
    if snap is None:
        return COLLECTION_FAILED
    snap = select(snap, args.filter)
    render = {"json": to_json, "csv": to_csv, "table": to_table}[args.format]
    emit(render(snap) + ("" if args.format == "csv" else "\n"), args.output)
    return 0


def one_poll(args: argparse.Namespace) -> Snapshot | None:
    """The poll `--source` and `--proc-root` ask for, its warnings said on stderr; None
    (and why, on stderr) when it failed outright."""
    from portscope.collect import take_snapshot
    from portscope.failures import survived
    from portscope.sanitise import printable

    source, proc_root = chosen_source(args)
    try:
        snap = take_snapshot(source, proc_root=proc_root)
    except Exception as exc:
        print(f"portscope: {survived('snapshot', exc).notice}", file=sys.stderr)
        return None
    for error in snap.errors:
        print(f"portscope: warning: {printable(error)}", file=sys.stderr)
    return snap
