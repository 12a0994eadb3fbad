"""Options more than one command takes: the poll interval and the socket-table source."""

from __future__ import annotations

import argparse

SOURCES = ("auto", "netlink", "procfs", "psutil")


def interval_seconds(text: str) -> float:
    """A poll interval the poller accepts, or a usage error saying which ones it does."""
    from portscope.poller import MAX_INTERVAL, MIN_INTERVAL

    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} is not a number of seconds from {MIN_INTERVAL} to {MAX_INTERVAL:g}"
        )
    return seconds


def add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="auto",
        help="socket table source (auto: netlink, else /proc, on Linux; psutil elsewhere)",
    )
    parser.add_argument(
        "--proc-root",
        metavar="DIR",
        help="read the socket tables and fd links from this procfs mount instead of /proc",
    )


def chosen_source(args: argparse.Namespace) -> tuple[str, str]:
    """(source, proc root) of `add_source_options`: procfs for another /proc under
    `auto`, whose owners psutil must then read from the same mount."""
    if not args.proc_root:
        return args.source, "/proc"
    import psutil

    psutil.PROCFS_PATH = args.proc_root  # its pids may differ from ours
    return ("procfs" if args.source == "auto" else args.source), args.proc_root
