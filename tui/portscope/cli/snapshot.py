"""`portscope snapshot`: one poll, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from portscope.cli.numbers import GAP

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
    parser.add_argument(
        "--interval",
        type=GAP,
        default=0.0,
        metavar="S",
        help="poll twice S seconds apart, so each TCP connection, process and destination "
        "has a rate (rx_rate, tx_rate, retransmit_rate) and flags that need two readings "
        "in JSON and CSV (default: one poll, counters without rates)",
    )
    parser.add_argument(
        "--no-traffic",
        dest="traffic",
        action="store_false",
        help="do not ask the kernel for tcp_info: the traffic fields are null (saying "
        "why), and a poll of many thousands of connections is cheaper",
    )
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
    from portscope.analysis.traffic import TrafficTracker
    from portscope.cli.output import emit
    from portscope.cli.polls import poll_twice
    from portscope.collect import Collector
    from portscope.failures import survived
    from portscope.report.snapshot import to_csv, to_json, to_table
    from portscope.sanitise import printable

    source = "procfs" if args.proc_root and args.source == "auto" else args.source
    if args.proc_root:
        import psutil

        # Owners must come from the same procfs as the fd links: its pids may differ.
        psutil.PROCFS_PATH = args.proc_root
    traffic = TrafficTracker()
    try:
        wanted = args.traffic and args.format != "table"
        collector = Collector(source, args.proc_root or "/proc", tcp_info=wanted)
        snap = poll_twice(collector, args.interval, traffic.update)
        report = traffic.update(snap)
    except Exception as exc:
        print(f"portscope: {survived('snapshot', exc).notice}", file=sys.stderr)
        return COLLECTION_FAILED
    for error in snap.errors:
        print(f"portscope: warning: {printable(error)}", file=sys.stderr)
    if args.format == "csv":
        emit(to_csv(snap, report), args.output)
    else:
        emit(
            (to_json(snap, report) if args.format == "json" else to_table(snap)) + "\n", args.output
        )
    return 0
