"""`--filter EXPR`: the dashboard's filter expressions on the commands that list sockets."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portscope.view.filters import Filter

HELP = (
    "only the sockets EXPR selects, in the dashboard's filter grammar: "
    "'state established and dport = :443', 'dst 10.0.0.0/8', 'process ~ ^nginx' "
    "(see README, Filter expressions)"
)


def filter_expression(text: str) -> Filter | None:
    """An argparse `type=`: the compiled filter (None for empty text); a bad one is
    the usage error saying where it went wrong."""
    from portscope.view.filters import FilterSyntaxError, compile_filter

    try:
        return compile_filter(text)
    except FilterSyntaxError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_filter_option(parser: argparse.ArgumentParser, help_text: str = HELP) -> None:
    parser.add_argument(
        "--filter", metavar="EXPR", type=filter_expression, default=None, help=help_text
    )
