"""`portscope check`: port pressure, accept queues, CLOSE_WAIT growth, listen drops,
conntrack fill and (when asked) retransmission rates per destination, for monitoring.

Prints one status line (with perfdata after `|`) and one line per problem, and exits
by the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portscope.analysis.levels import MAX_PERCENT, Thresholds
from portscope.cli.errors import UsageError
from portscope.cli.filtering import add_filter_option
from portscope.cli.netns import add_netns_option, narrowed, netns_scope
from portscope.cli.numbers import Number

if TYPE_CHECKING:
    from portscope.collect import Collector
    from portscope.model import Snapshot
    from portscope.view.filters import Filter

MAX_GAP = 3600.0
"""The longest `--interval` of `check` and `snapshot`: how far apart their two polls may
be (the dashboard's poll interval is another thing, bounded by the poller)."""
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
    add_netns_option(parser)
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        type=Path,
        help="also compare the listeners with this baseline (`portscope baseline save`): "
        "a new one exposed beyond loopback (and beyond its container's own network, for a "
        "container's unpublished one) is CRITICAL, any other new or missing one WARNING",
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
    from portscope.cli.output import emit
    from portscope.collect import Collector
    from portscope.failures import survived
    from portscope.report.check import failure, outcome

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
        limits = RetransmitLimits(args.retransmit_warning, args.retransmit_critical)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if limits.enabled and not args.interval:
        raise UsageError("--retransmit-warning and --retransmit-critical need --interval")
    baseline = None
    if args.baseline is not None:
        from portscope.history.baseline import BaselineRefused, read_baseline

        try:
            baseline = read_baseline(args.baseline)
        except BaselineRefused as exc:
            raise UsageError(f"check: {exc}") from None
    tracker, traffic = HealthTracker(thresholds), TrafficTracker()

    def first(snapshot: Snapshot) -> None:
        tracker.update(snapshot)
        traffic.update(snapshot)

    try:
        collector = Collector(tcp_info=limits.enabled, namespaces=netns_scope(args))
        snapshot = poll_twice(collector, args.interval, args.filter, first, args.netns)
        resent = retransmit_rates(traffic.update(snapshot), limits) if limits.enabled else []
    except UsageError:
        raise
    except Exception as exc:
        result = failure(survived("snapshot", exc).notice)
    else:
        diff = None
        if baseline is not None:
            from portscope.history.baseline import compare, listeners_of

            diff = compare(baseline.listeners, listeners_of(snapshot))
        result = outcome(tracker.update(snapshot), snapshot.errors, resent, limits, diff)
    emit((json.dumps(result.record, indent=1) if args.json else result.text) + "\n")
    return result.exit_code


def poll_twice(
    collector: Collector,
    interval: float,
    chosen: Filter | None,
    first: Callable[[Snapshot], object],
    netns: str | None = None,
) -> Snapshot:
    """The last of one poll, or (with an interval) of two that far apart, the first of
    which is handed to `first`; each with only the sockets the filter `chosen` selects
    in the namespace the selector `netns` names, so a rate or a trend is about the same
    sockets as the figures beside it. UsageError when `netns` names no namespace."""
    snapshot = selected(narrowed(collector.collect(), netns), chosen)
    if interval:
        first(snapshot)
        time.sleep(interval)
        snapshot = selected(narrowed(collector.collect(), netns), chosen)
    return snapshot


def selected(snapshot: Snapshot, chosen: Filter | None) -> Snapshot:
    """The sockets `chosen` selects; without a filter, the filter grammar (and the
    regex engine under it) is not even imported."""
    if chosen is None:
        return snapshot
    from portscope.view.filters import select

    return select(snapshot, chosen)
