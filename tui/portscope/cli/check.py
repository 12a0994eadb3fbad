"""`portscope check`: port pressure, accept queues and CLOSE_WAIT growth for monitoring.

Prints one status line (with perfdata after `|`) and one line per problem, and exits
by the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
"""

from __future__ import annotations

import argparse
from typing import Any

from portscope.analysis.levels import MAX_PERCENT, Thresholds

MAX_GAP = 3600.0
"""The longest `--interval`: how far apart check's two polls may be (the dashboard's
poll interval is another thing, bounded by the poller)."""


def percentage(text: str) -> float:
    value = number(text)
    if not 0 < value <= MAX_PERCENT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage in (0, {MAX_PERCENT:g}]")
    return value


def count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def seconds(text: str) -> float:
    value = number(text)
    if not 0 <= value <= MAX_GAP:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds in 0-{MAX_GAP:g}")
    return value


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value:  # NaN
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return value


def add_parser(commands: Any) -> None:
    defaults = Thresholds()
    summary = (
        "monitoring check: ephemeral port pressure, full accept queues, CLOSE_WAIT growth; "
        "exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"
    )
    parser = commands.add_parser("check", help=summary, description=summary)
    parser.add_argument(
        "-w",
        "--warning",
        type=percentage,
        default=defaults.warning,
        help="percent of a destination's ephemeral ports, or of an accept queue, that warns "
        "(default %(default)g)",
    )
    parser.add_argument(
        "-c",
        "--critical",
        type=percentage,
        default=defaults.critical,
        help="percent that is critical (default %(default)g)",
    )
    parser.add_argument(
        "--close-wait-critical",
        type=count,
        default=defaults.close_wait_critical,
        help="a process's CLOSE_WAIT count that is critical when growing, and a warning "
        "when steady (default %(default)d)",
    )
    parser.add_argument(
        "--close-wait-growth",
        type=count,
        default=defaults.close_wait_growth,
        help="how many new CLOSE_WAIT sockets between polls (above the earlier high) "
        "count as growth (default %(default)d)",
    )
    parser.add_argument(
        "--interval",
        type=seconds,
        default=0.0,
        help="poll twice this many seconds apart, so CLOSE_WAIT growth can be seen "
        "(default: one poll, no growth check)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time

    from portscope.analysis import HealthTracker
    from portscope.cli.errors import UsageError
    from portscope.collect import Collector
    from portscope.failures import survived
    from portscope.report.check import failure, outcome

    try:
        thresholds = Thresholds(
            args.warning, args.critical, args.close_wait_critical, args.close_wait_growth
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    tracker = HealthTracker(thresholds)
    try:
        collector = Collector()
        snapshot = collector.collect()
        if args.interval:
            tracker.update(snapshot)
            time.sleep(args.interval)
            snapshot = collector.collect()
    except Exception as exc:
        result = failure(survived("snapshot", exc).notice)
    else:
        result = outcome(tracker.update(snapshot), snapshot.errors)
    sys.stdout.write((json.dumps(result.record, indent=1) if args.json else result.text) + "\n")
    return result.exit_code
