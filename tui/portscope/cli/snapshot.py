"""`portscope snapshot`: one poll (or two, for rates), as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from portscope.cli.check import SECONDS, poll_twice
from portscope.cli.errors import UsageError
from portscope.cli.filtering import add_filter_option
from portscope.cli.netns import add_netns_option, narrowed, netns_scope
from portscope.cli.options import add_output_option, add_source_options, chosen_source

if TYPE_CHECKING:
    from portscope.model import Snapshot

FORMATS = ("table", "json", "csv")
COLLECTION_FAILED = 1


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("snapshot", help="take one poll and print it")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json")
    fmt.add_argument("--csv", dest="format", action="store_const", const="csv")
    add_source_options(parser)
    parser.add_argument(
        "--interval",
        type=SECONDS,
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
    add_filter_option(parser)
    add_netns_option(parser)
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
    from portscope.analysis.traffic import TrafficTracker
    from portscope.cli.output import emit
    from portscope.collect import Collector
    from portscope.report.snapshot import to_csv, to_json, to_table

    source, proc_root = chosen_source(args)
    traffic = TrafficTracker()

    def polls() -> Snapshot:
        wanted = args.traffic and args.format != "table"
        scope = netns_scope(args, proc_root)
        collector = Collector(source, proc_root, tcp_info=wanted, namespaces=scope)
        return poll_twice(collector, args.interval, args.filter, traffic.update, args.netns)

    snap = reported(polls)
    if snap is None:
        return COLLECTION_FAILED
    if args.format == "table":
        emit(to_table(snap) + "\n", args.output)
    else:
        report = traffic.update(snap)
        text = to_csv(snap, report) if args.format == "csv" else to_json(snap, report) + "\n"
        emit(text, args.output)
    return 0


def one_poll(args: argparse.Namespace) -> Snapshot | None:
    """The poll `--source`, `--proc-root` and `--netns` ask for, its warnings said on
    stderr; None (and why, on stderr) when it failed outright."""
    from portscope.collect import take_snapshot

    source, proc_root = chosen_source(args)
    scope = netns_scope(args, proc_root)
    return reported(lambda: narrowed(take_snapshot(source, proc_root, scope), args.netns))


def reported(poll: Callable[[], Snapshot]) -> Snapshot | None:
    """What `poll` returns, its warnings said on stderr; None (and why, on stderr) when
    it failed outright. What only a failure or a warning needs (logging, for one) is
    imported when there is one: a cold snapshot pays for every import."""
    try:
        snap = poll()
    except UsageError:
        raise
    except Exception as exc:
        from portscope.failures import survived

        print(f"portscope: {survived('snapshot', exc).notice}", file=sys.stderr)
        return None
    if snap.errors:
        from portscope.sanitise import printable

        for error in snap.errors:
            print(f"portscope: warning: {printable(error)}", file=sys.stderr)
    return snap
