"""`portscope baseline save [FILE]` and `portscope diff`: the listeners a machine should
have, and what changed since (a saved baseline, or the recorder's history)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portscope.cli.spans import moment

if TYPE_CHECKING:
    from portscope.model import Snapshot

COLLECTION_FAILED = 1
CHANGED = 1
"""`diff`'s exit status when something changed, as diff(1) has it (0: nothing did)."""


def add_parser(commands: Any) -> None:
    summary = "save the listeners of this machine as a baseline"
    baseline = commands.add_parser("baseline", help=summary, description=summary)
    actions = baseline.add_subparsers(dest="action", metavar="ACTION", required=True)
    save = actions.add_parser("save", help=summary, description=summary)
    save.add_argument(
        "file",
        metavar="FILE",
        type=Path,
        nargs="?",
        help="where (default: baseline.json beside the default history database)",
    )
    save.set_defaults(run=run_save)
    summary = (
        "listeners that appeared or went: since a baseline (default) or over a time "
        "in the recorder's history; exit 0 when nothing changed, 1 when something did"
    )
    diff = commands.add_parser("diff", help=summary, description=summary)
    against = diff.add_mutually_exclusive_group()
    against.add_argument("--baseline", metavar="FILE", type=Path, help="the baseline file")
    against.add_argument(
        "--since", type=moment, metavar="DURATION|TIME", help="from the history, since then"
    )
    diff.add_argument("--db", metavar="PATH", type=Path, help="the history database (--since)")
    diff.add_argument("--json", action="store_true", help="print one JSON document")
    diff.set_defaults(run=run_diff)


def run_save(args: argparse.Namespace) -> int:
    from portscope.cli.errors import UsageError
    from portscope.history.baseline import baseline_of, default_baseline, save_baseline
    from portscope.sanitise import printable

    path = args.file or default_baseline()
    snapshot = live_snapshot()
    if snapshot is None:
        return COLLECTION_FAILED
    baseline = baseline_of(snapshot)
    try:
        save_baseline(path, baseline)
    except OSError as exc:
        raise UsageError(f"baseline: cannot write {printable(str(path))}: {exc.strerror}") from None
    print(f"saved {len(baseline.listeners)} listeners to {printable(str(path))}")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from portscope.cli.output import emit

    if args.since is not None:
        text, changed = diff_history(args)
    else:
        found = diff_baseline(args)
        if found is None:
            return COLLECTION_FAILED
        text, changed = found
    emit(text + "\n")
    return CHANGED if changed else 0


def diff_baseline(args: argparse.Namespace) -> tuple[str, bool] | None:
    """The baseline against a poll now; None when the poll failed (said on stderr)."""
    from portscope.cli.errors import UsageError
    from portscope.history.baseline import (
        BaselineRefused,
        compare,
        default_baseline,
        listeners_of,
        read_baseline,
    )
    from portscope.report.baseline import diff_json, diff_text
    from portscope.view.history import stamp

    path = args.baseline or default_baseline()
    try:
        baseline = read_baseline(path)
    except BaselineRefused as exc:
        raise UsageError(f"diff: {exc}") from None
    snapshot = live_snapshot()
    if snapshot is None:
        return None
    diff = compare(baseline.listeners, listeners_of(snapshot))
    against = f"the baseline {path} ({stamp(baseline.saved_at)})"
    return (diff_json if args.json else diff_text)(diff, against), not diff.empty


def diff_history(args: argparse.Namespace) -> tuple[str, bool]:
    import time

    from portscope.cli.errors import UsageError
    from portscope.history.baseline import fold
    from portscope.history.paths import HistoryRefused, default_db
    from portscope.history.query import HistoryReader
    from portscope.report.baseline import changes_json, changes_text
    from portscope.view.history import stamp

    try:
        reader = HistoryReader.open(args.db or default_db())
    except HistoryRefused as exc:
        raise UsageError(f"diff: {exc}") from None
    try:
        changes = fold(reader.listener_changes(args.since, time.time()))
    finally:
        reader.close()
    against = f"{stamp(args.since)} (the recorder's history)"
    return (changes_json if args.json else changes_text)(changes, against), not changes.empty


def live_snapshot() -> Snapshot | None:
    """This machine's sockets now, of every network namespace when run in the host's
    (`collect.default_scope`); None when the poll failed, which is said on stderr."""
    import sys

    from portscope.collect import default_scope, take_snapshot
    from portscope.failures import survived

    try:
        return take_snapshot(namespaces=default_scope())
    except Exception as exc:
        print(f"portscope: {survived('snapshot', exc).notice}", file=sys.stderr)
        return None
