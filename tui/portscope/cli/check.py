"""`portscope check`: port pressure, accept queues, CLOSE_WAIT growth and (when asked)
retransmission rates per destination, for monitoring.

Prints one status line (with perfdata after `|`) and one line per problem, and exits
by the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
"""

from __future__ import annotations

import argparse
from typing import Any

from portscope.analysis.levels import MAX_PERCENT, Thresholds
from portscope.cli.numbers import GAP, Number

MAX_COUNT = 1_000_000_000
PERCENTAGE = Number("a percentage", 0, MAX_PERCENT, above_low=True)
COUNT = Number("a whole number", 1, MAX_COUNT, whole=True)


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
        type=PERCENTAGE,
        default=defaults.warning,
        help="percent of a destination's ephemeral ports, or of an accept queue, that warns "
        "(default %(default)g)",
    )
    parser.add_argument(
        "-c",
        "--critical",
        type=PERCENTAGE,
        default=defaults.critical,
        help="percent that is critical (default %(default)g)",
    )
    parser.add_argument(
        "--close-wait-critical",
        type=COUNT,
        default=defaults.close_wait_critical,
        help="a process's CLOSE_WAIT count that is critical when growing, and a warning "
        "when steady (default %(default)d)",
    )
    parser.add_argument(
        "--close-wait-growth",
        type=COUNT,
        default=defaults.close_wait_growth,
        help="how many new CLOSE_WAIT sockets between polls (above the earlier high) "
        "count as growth (default %(default)d)",
    )
    parser.add_argument(
        "--interval",
        type=GAP,
        default=0.0,
        help="poll twice this many seconds apart, so CLOSE_WAIT growth can be seen "
        "(default: one poll, no growth check)",
    )
    parser.add_argument(
        "--retransmit-warning",
        type=PERCENTAGE,
        metavar="PERCENT",
        help="warn when, of the TCP segments sent to one destination (remote address and "
        "port) between the two polls, this percentage or more were retransmissions; needs "
        "--interval (default: off)",
    )
    parser.add_argument(
        "--retransmit-critical",
        type=PERCENTAGE,
        metavar="PERCENT",
        help="the same share that is critical (default: off)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from portscope.analysis import HealthTracker, TrafficTracker
    from portscope.analysis.retransmits import RetransmitLimits, retransmit_rates
    from portscope.cli.errors import UsageError
    from portscope.cli.output import emit
    from portscope.cli.polls import poll_twice
    from portscope.collect import Collector
    from portscope.failures import survived
    from portscope.model import Snapshot
    from portscope.report.check import failure, outcome

    try:
        thresholds = Thresholds(
            args.warning, args.critical, args.close_wait_critical, args.close_wait_growth
        )
        limits = RetransmitLimits(args.retransmit_warning, args.retransmit_critical)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if limits.enabled and not args.interval:
        raise UsageError("--retransmit-warning and --retransmit-critical need --interval")
    tracker, traffic = HealthTracker(thresholds), TrafficTracker()

    def first(snapshot: Snapshot) -> None:
        tracker.update(snapshot)
        traffic.update(snapshot)

    try:
        snapshot = poll_twice(Collector(tcp_info=limits.enabled), args.interval, first)
        resent = retransmit_rates(traffic.update(snapshot), limits) if limits.enabled else []
    except Exception as exc:
        result = failure(survived("snapshot", exc).notice)
    else:
        result = outcome(tracker.update(snapshot), snapshot.errors, resent, limits)
    emit((json.dumps(result.record, indent=1) if args.json else result.text) + "\n")
    return result.exit_code
