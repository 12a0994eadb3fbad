"""Command line: `portscope` opens the dashboard; subcommands answer scripts.

Subcommand modules import their heavy dependencies inside `run`, so `portscope lookup`
and `portscope snapshot` start fast and never import textual.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from portscope import __version__
from portscope.cli import (
    baseline,
    check,
    close,
    history,
    lookup,
    metrics,
    record,
    serve,
    snapshot,
)
from portscope.cli.errors import USAGE_ERROR, UsageError
from portscope.cli.numbers import NEGATIVE_NUMBER_LIKE
from portscope.cli.options import interval_seconds
from portscope.cli.output import OutputFailed

SUBCOMMANDS = (snapshot, lookup, check, close, record, history, baseline, metrics, serve)
OUTPUT_FAILED = 2
INTERRUPTED = 128 + signal.SIGINT
NO_TERMINAL = (
    "the dashboard needs a terminal on stdin, stdout and stderr (ssh -t for a remote one); "
    "`portscope snapshot` prints one poll without one"
)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, not usage text plus a line, and
    `-inf`, `-1e5` or `-nan` after an option is its value (which the option's type then
    refuses with a word on numbers), not an unknown option."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER_LIKE  # argparse's own knows only -1

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
    parser.add_argument(
        "--db",
        dest="dashboard_db",
        metavar="PATH",
        type=Path,
        default=None,
        help="the history database the dashboard's History view and lookup read "
        "(default: the one `portscope record` writes)",
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
    hold_closed_standard_descriptors()
    try:
        args = build_parser().parse_args(argv)
        if args.log is not None:
            start_log(args.log, args.command or "dashboard")
        if args.command is None:
            require_terminal()
            from portscope.view.lifecycle import begin

            collect = begin()  # the first collect under way while the UI is imported
            from portscope.ui.app import run_dashboard

            return run_dashboard(collect, interval=args.interval, history_db=args.dashboard_db)
        status = int(args.run(args))
        sys.stdout.flush()  # a reader that left shows up here, not in the exit-time flush
        return status
    except UsageError as exc:
        print(f"portscope: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except OutputFailed as exc:
        print(f"portscope: {exc}", file=sys.stderr)
        discard_stdout()
        return OUTPUT_FAILED
    except KeyboardInterrupt:
        print("portscope: interrupted", file=sys.stderr)
        return die_interrupted()
    except BrokenPipeError:
        discard_stdout()  # the reader left (`| head`): not an error
        return 0


def require_terminal() -> None:
    """The dashboard reads keys from stdin and draws on a terminal: without one it would
    fill a file or a pipe with escape codes and wait for keys that never come."""
    streams = (sys.stdin, sys.stdout, sys.stderr)
    if not all(stream is not None and stream.isatty() for stream in streams):
        raise UsageError(NO_TERMINAL)


def hold_closed_standard_descriptors() -> None:
    """A standard descriptor closed at start (`portscope snapshot >&-`) would be the next
    one opened: a socket-table reader could become what /dev/stdout names. /dev/null,
    read-only, holds its place, so writes to it fail as they would have."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            placeholder = os.open(os.devnull, os.O_RDONLY)
            if placeholder != fd:
                os.dup2(placeholder, fd)
                os.close(placeholder)


def discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's own flush at exit of what is still
    buffered has nowhere left to fail."""
    if sys.stdout is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def die_interrupted() -> int:
    """End as a process killed by SIGINT, as an uncaught ctrl+c would: that is how a shell
    running portscope in a loop or script knows to stop too (an exit status of 130 does
    not tell it). INTERRUPTED only where the signal does not end the process."""
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    return INTERRUPTED
