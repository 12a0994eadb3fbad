"""`portscope metrics`: one poll in the Prometheus text exposition format, for
node_exporter's textfile collector (`-o DIR/portscope.prom`, written atomically) or a
look by hand. The exporter, and with it prometheus_client, is imported only when it runs."""

from __future__ import annotations

import argparse
from typing import Any

from portscope.cli.check import COUNT
from portscope.cli.filtering import add_filter_option
from portscope.cli.netns import add_netns_option
from portscope.cli.options import add_output_option, add_source_options
from portscope.cli.output import emit
from portscope.cli.snapshot import COLLECTION_FAILED, cyclic_gc_paused, one_poll
from portscope.exporter.settings import ExportSettings


def add_parser(commands: Any) -> None:
    summary = "print one poll as Prometheus metrics (the text exposition format)"
    parser = commands.add_parser("metrics", help=summary, description=summary)
    add_metric_options(parser)
    add_source_options(parser)
    add_filter_option(parser)
    add_netns_option(parser)
    add_output_option(parser)
    parser.set_defaults(run=run)


def add_metric_options(parser: argparse.ArgumentParser) -> None:
    """What `metrics` and `serve` both take: how much of a poll to export."""
    defaults = ExportSettings()
    parser.add_argument(
        "--top-destinations",
        metavar="N",
        type=COUNT,
        default=defaults.top_destinations,
        help="export the N destinations with the highest ephemeral port pressure "
        "(default %(default)d)",
    )
    parser.add_argument(
        "--max-series",
        metavar="N",
        type=COUNT,
        default=defaults.max_series,
        help="at most N series in any one metric family; what is left out is counted in "
        "portscope_series_dropped_total (default %(default)d)",
    )


def export_settings(args: argparse.Namespace) -> ExportSettings:
    return ExportSettings(top_destinations=args.top_destinations, max_series=args.max_series)


def run(args: argparse.Namespace) -> int:
    from portscope.exporter.latest import exposition
    from portscope.view.filters import select

    with cyclic_gc_paused():
        snapshot = one_poll(args)
        if snapshot is None:
            return COLLECTION_FAILED
        snapshot = select(snapshot, args.filter)
        text = exposition(snapshot, export_settings(args))
    emit(text, args.output)
    return 0
