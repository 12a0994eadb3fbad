"""Options more than one command takes: the poll interval and the socket-table source."""

from __future__ import annotations

import argparse

from portscope.cli.numbers import Number

SOURCES = ("auto", "netlink", "procfs", "psutil")


def interval_seconds(text: str) -> float:
    """A poll interval the poller accepts (imported here: the poller brings asyncio)."""
    from portscope.poller import MAX_INTERVAL, MIN_INTERVAL

    return Number("a number of seconds", MIN_INTERVAL, MAX_INTERVAL)(text)


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
        help="read the socket tables, fd links and ephemeral range from this procfs mount "
        "instead of /proc",
    )


def chosen_source(args: argparse.Namespace) -> tuple[str, str]:
    """(source, proc root) of `add_source_options`: procfs for another /proc under
    `auto`, whose owners psutil must then read from the same mount."""
    if not args.proc_root:
        return args.source, "/proc"
    import psutil

    psutil.PROCFS_PATH = args.proc_root  # its pids may differ from ours
    return ("procfs" if args.source == "auto" else args.source), args.proc_root


def add_output_option(parser: argparse.ArgumentParser) -> None:
    """`-o FILE`, written as `cli.output.emit` writes it."""
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE instead of standard output: a file is replaced atomically "
        "(keeping its owner and mode; a symlink planted there is replaced, not followed), "
        "a device, FIFO or terminal is written into",
    )
