"""`portscope record`: keep the history (connections and listeners) in SQLite."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from portscope.cli.options import interval_seconds
from portscope.cli.spans import duration, size


def add_parser(commands: Any) -> None:
    summary = (
        "record connections (each one's end, bytes, process) and listeners appearing and "
        "going into a local SQLite history, until stopped"
    )
    parser = commands.add_parser("record", help=summary, description=summary)
    parser.add_argument(
        "--db",
        metavar="PATH",
        type=Path,
        help="the history database (default: /var/lib/portscope/history.db for root, "
        "$XDG_STATE_HOME/portscope/history.db for a user)",
    )
    parser.add_argument(
        "--interval",
        type=interval_seconds,
        default=2.0,
        help="seconds between polls (default %(default)g)",
    )
    parser.add_argument(
        "--max-age",
        type=duration,
        default=None,
        metavar="DURATION",
        help="keep rows this long (default 30d)",
    )
    parser.add_argument(
        "--max-size",
        type=size,
        default=None,
        metavar="SIZE",
        help="keep the database file under this size, oldest rows going first (default 512M)",
    )
    parser.add_argument(
        "--polls-only",
        dest="kernel_events",
        action="store_false",
        help="record only what the polls see, without the kernel's socket-end events "
        "(connections shorter than a poll are then missed)",
    )
    parser.add_argument(
        "--print-systemd-unit",
        action="store_true",
        help="print a systemd service unit that runs this recorder, and exit",
    )
    parser.set_defaults(run=run)


def options_given(args: argparse.Namespace, db: Path) -> list[str]:
    """The options that make this same recorder again (for the unit)."""
    given = ["--db", str(db), "--interval", f"{args.interval:g}"]
    if args.max_age is not None:
        given += ["--max-age", f"{args.max_age:g}s"]
    if args.max_size is not None:
        given += ["--max-size", str(args.max_size)]
    return given + ([] if args.kernel_events else ["--polls-only"])


def run(args: argparse.Namespace) -> int:
    from portscope.cli.errors import UsageError
    from portscope.cli.output import emit
    from portscope.history.paths import HistoryRefused, default_db
    from portscope.history.retention import Limits
    from portscope.sanitise import printable

    db = (args.db or default_db()).absolute()
    if args.print_systemd_unit:
        from portscope.recorder.unit import systemd_unit

        emit(systemd_unit(db, options_given(args, db)))
        return 0
    from portscope.failures import LOG
    from portscope.recorder.service import RecorderOptions, record

    def say(line: str) -> None:
        LOG.info("record: %s", line)
        print(f"portscope record: {printable(line)}", file=sys.stderr, flush=True)

    defaults = Limits()
    limits = Limits(args.max_age or defaults.max_age, args.max_size or defaults.max_size)
    try:
        return record(RecorderOptions(db, args.interval, limits, args.kernel_events), say)
    except HistoryRefused as exc:
        raise UsageError(f"record: {exc}") from None
