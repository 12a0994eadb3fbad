"""`portscope close`: close TCP connections the way `ss -K` does, the process left running.

The connections are chosen by a filter expression and listed (both ends, state, process)
before anything is done; more than one needs `--all`; nothing is closed without `--yes`
or a `y` typed at the question. Each is re-checked just before it is closed, so a
connection whose identity changed since it was listed is left alone.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from portscope.cli.filtering import filter_expression

NOTHING_CLOSED = 1
YES = frozenset({"y", "yes"})


def add_parser(commands: Any) -> None:
    summary = (
        "close TCP connections (sock_diag SOCK_DESTROY, as ss -K): the process keeps "
        "running and sees the connection aborted; needs root (CAP_NET_ADMIN)"
    )
    parser = commands.add_parser("close", help=summary, description=summary)
    parser.add_argument(
        "--filter",
        metavar="EXPR",
        type=filter_expression,
        required=True,
        help="the connections to close, in the dashboard's filter grammar, e.g. "
        "'src 10.0.0.5:40000 and dst 10.0.0.9:5432'",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="close every connection the filter selects (without it, more than one is refused)",
    )
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="do not ask: close what the filter selects (still listed on stderr first)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from portscope.cli.errors import UsageError
    from portscope.cli.output import emit
    from portscope.closing import (
        CloseRefused,
        close_connection,
        close_refusal,
        connection_label,
        described,
    )
    from portscope.collect import Collector, default_scope
    from portscope.sanitise import printable
    from portscope.view.filters import socket_text

    if args.filter is None:
        raise UsageError("--filter: say which connections to close")
    snapshot = Collector(source="netlink", namespaces=default_scope()).collect()
    for error in snapshot.errors:
        print(f"portscope: warning: {printable(error)}", file=sys.stderr)
    chosen = [s for s in snapshot.connections if args.filter.matches(s, socket_text(s, snapshot))]
    closable = []
    for sock in chosen:
        reason = close_refusal(sock)
        if reason is None:
            closable.append(sock)
        else:
            print(f"portscope: left alone: {connection_label(sock)}: {reason}", file=sys.stderr)
    if not closable:
        print("portscope: no TCP connection matches; nothing closed", file=sys.stderr)
        return NOTHING_CLOSED
    if len(closable) > 1 and not args.all:
        raise UsageError(
            f"{len(closable)} connections match; narrow the filter, or pass --all to close them all"
        )
    for sock in closable:
        print(f"  {described(sock)}", file=sys.stderr)
    if not args.yes and not confirmed(len(closable)):
        print("portscope: nothing closed", file=sys.stderr)
        return NOTHING_CLOSED
    refused = 0
    for sock in closable:
        try:
            emit(close_connection(sock) + "\n")
        except CloseRefused as exc:
            refused += 1
            print(f"portscope: {exc}", file=sys.stderr)
    return NOTHING_CLOSED if refused else 0


def confirmed(count: int) -> bool:
    """A `y` or `yes` on standard input, after the question on stderr; end of input is no."""
    from portscope.closing import CONSEQUENCES

    what = "this connection" if count == 1 else f"these {count} connections"
    print(f"Close {what}? ({CONSEQUENCES}) [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline() if sys.stdin is not None else ""
    if not answer.endswith("\n"):
        print(file=sys.stderr)  # end of input: what follows starts a line of its own
    return answer.strip().lower() in YES
