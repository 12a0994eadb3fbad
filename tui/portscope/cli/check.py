"""`portscope check`: port pressure, accept queues, CLOSE_WAIT growth, listen drops and
conntrack fill, for monitoring.

Prints one status line (with perfdata after `|`) and one line per problem, and exits
by the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from portscope.analysis.levels import MAX_PERCENT, Thresholds
from portscope.cli.filtering import add_filter_option
from portscope.cli.numbers import Number

MAX_GAP = 3600.0
"""The longest `--interval`: how far apart check's two polls may be (the dashboard's
poll interval is another thing, bounded by the poller)."""
MAX_COUNT = 1_000_000_000
PERCENTAGE = Number("a percentage", 0, MAX_PERCENT, above_low=True)
COUNT = Number("a whole number", 1, MAX_COUNT, whole=True)
SECONDS = Number("a number of seconds", 0, MAX_GAP)


def add_parser(commands: Any) -> None:
    defaults = Thresholds()
    summary = (
        "monitoring check: ephemeral port pressure, full accept queues, CLOSE_WAIT growth, "
        "listen drops, conntrack fill; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"
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
        "--listen-drops-warning",
        type=COUNT,
        metavar="N",
        default=defaults.listen_drops_warning,
        help="connection attempts dropped at listeners between the two polls (the "
        "kernel's TcpExtListenDrops) that warn (default %(default)d)",
    )
    parser.add_argument(
        "--listen-drops-critical",
        type=COUNT,
        metavar="N",
        default=defaults.listen_drops_critical,
        help="listen drops between the two polls that are critical (default %(default)d)",
    )
    parser.add_argument(
        "--conntrack-warning",
        type=PERCENTAGE,
        metavar="PCT",
        default=defaults.conntrack_warning,
        help="percent of nf_conntrack_max in use that warns (default %(default)g)",
    )
    parser.add_argument(
        "--conntrack-critical",
        type=PERCENTAGE,
        metavar="PCT",
        default=defaults.conntrack_critical,
        help="percent of nf_conntrack_max in use that is critical (default %(default)g)",
    )
    parser.add_argument(
        "--interval",
        type=SECONDS,
        default=0.0,
        help="poll twice this many seconds apart, so CLOSE_WAIT growth and listen drops "
        "can be seen (default: one poll, neither checked)",
    )
    add_filter_option(
        parser,
        "judge only the sockets EXPR selects (the dashboard's filter grammar, e.g. "
        "'dport = :5432'); the kernel's counters are the whole namespace's",
    )
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        type=Path,
        help="also compare the listeners with this baseline (`portscope baseline save`): "
        "a new one exposed beyond loopback is CRITICAL, any other new or missing one WARNING",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    import time

    from portscope.analysis import HealthTracker
    from portscope.cli.errors import UsageError
    from portscope.cli.output import emit
    from portscope.collect import Collector
    from portscope.failures import survived
    from portscope.report.check import failure, outcome
    from portscope.view.filters import select

    try:
        thresholds = Thresholds(
            warning=args.warning,
            critical=args.critical,
            close_wait_critical=args.close_wait_critical,
            close_wait_growth=args.close_wait_growth,
            listen_drops_warning=args.listen_drops_warning,
            listen_drops_critical=args.listen_drops_critical,
            conntrack_warning=args.conntrack_warning,
            conntrack_critical=args.conntrack_critical,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    baseline = None
    if args.baseline is not None:
        from portscope.history.baseline import BaselineRefused, read_baseline

        try:
            baseline = read_baseline(args.baseline)
        except BaselineRefused as exc:
            raise UsageError(f"check: {exc}") from None
    tracker = HealthTracker(thresholds)
    try:
        collector = Collector()
        snapshot = select(collector.collect(), args.filter)
        if args.interval:
            tracker.update(snapshot)
            time.sleep(args.interval)
            snapshot = select(collector.collect(), args.filter)
    except Exception as exc:
        result = failure(survived("snapshot", exc).notice)
    else:
        diff = None
        if baseline is not None:
            from portscope.history.baseline import compare, listeners_of

            diff = compare(baseline.listeners, listeners_of(snapshot))
        result = outcome(tracker.update(snapshot), snapshot.errors, diff)
    emit((json.dumps(result.record, indent=1) if args.json else result.text) + "\n")
    return result.exit_code
