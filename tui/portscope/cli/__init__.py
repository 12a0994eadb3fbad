"""Command line: `portscope` opens the dashboard; subcommands answer scripts.

Subcommand modules import their heavy dependencies inside `run`, so `portscope lookup`
and `portscope snapshot` start fast and never import textual.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from portscope import __version__
from portscope.cli import check, lookup, metrics, serve, snapshot
from portscope.cli.errors import USAGE_ERROR, UsageError
from portscope.cli.options import interval_seconds

SUBCOMMANDS = (snapshot, lookup, check, metrics, serve)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, not usage text plus a line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> Parser:
    parser = Parser(
        prog="portscope",
        description="What is listening here, which ephemeral ports are borrowed, "
        "and what port N is. With no command, opens the dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"portscope {__version__}")
    parser.add_argument(
        "--interval",
        type=interval_seconds,
        default=None,
        help="dashboard poll interval in seconds (default: the last one you chose, else 2)",
    )
    add_log_option(parser, default=None)
    commands = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    for command in commands.choices.values():
        add_log_option(command, default=argparse.SUPPRESS)  # keeps one given before COMMAND
    return parser


def add_log_option(parser: argparse.ArgumentParser, default: object) -> None:
    """`--log FILE`, taken before or after the command."""
    parser.add_argument(
        "--log",
        metavar="FILE",
        type=Path,
        default=default,
        help="append log records (failures, with their tracebacks) to FILE, created "
        "0600; a symlink or another user's file there is refused",
    )


def start_log(path: Path, command: str) -> None:
    """Log to `path` from here on, or a usage error saying why not."""
    from portscope.failures import LOG
    from portscope.logfile import LogRefused, log_to

    try:
        log_to(path)
    except LogRefused as exc:
        raise UsageError(f"cannot log to {str(path)!r}: {exc}") from None
    LOG.info("portscope %s started: %s", __version__, command)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.log is not None:
            start_log(args.log, args.command or "dashboard")
        if args.command is None:
            from portscope.view.prefetch import start_collect
            from portscope.view.startup_gc import STARTUP

            STARTUP.hold()  # released once the first poll is on screen
            collect = start_collect()  # under way while the UI is imported
            from portscope.ui.app import run_dashboard

            return run_dashboard(collect, interval=args.interval)
        status = int(args.run(args))
        sys.stdout.flush()  # a reader that left shows up here, not in the exit-time flush
        return status
    except UsageError as exc:
        print(f"portscope: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left (`| head`): not an error. Point stdout at /dev/null so the
        # interpreter's own flush at exit has nowhere left to fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
