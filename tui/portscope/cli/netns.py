"""`--netns SELECTOR`: which network namespaces a command reads and reports.

Without it a command reads every namespace this user can (when run in the host's),
or only its own when run inside one, as `ss` there would; `all` asks for every one
from anywhere. A selector that names no namespace is a usage error, found once the
first poll has discovered what there is.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from portscope.cli.errors import UsageError

if TYPE_CHECKING:
    from portscope.collect import Scope
    from portscope.model import Snapshot

EVERY = "all"
HELP = (
    "only the sockets of one network namespace: host, an `ip netns` name, a container's "
    "name, an inode or netns:INODE; `all` for every one this user can read (the default "
    "in the host's namespace; inside another, only that one is read)"
)
KNOWN_SHOWN = 8
"""Namespace names listed in the error for a selector that names none."""


def add_netns_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--netns", metavar="SELECTOR", default=None, help=HELP)


def netns_scope(args: argparse.Namespace, proc_root: str = "/proc") -> Scope:
    """Which namespaces the collector must read for `args.netns`."""
    from portscope.collect import default_scope

    return default_scope(proc_root) if args.netns is None else "every"


def narrowed(snapshot: Snapshot, selector: str | None) -> Snapshot:
    """`snapshot` with only the namespace `selector` names; UsageError if none."""
    if selector is None or selector == EVERY:
        return snapshot
    chosen = snapshot.find_namespace(selector)
    if chosen is None:
        from portscope.sanitise import printable

        known = ", ".join(printable(ns.name, 40) for ns in snapshot.namespaces[:KNOWN_SHOWN])
        more = ", ..." if len(snapshot.namespaces) > KNOWN_SHOWN else ""
        raise UsageError(
            f"--netns {printable(selector, 60)}: no such network namespace (known: {known}{more})"
        )
    return snapshot.in_namespace(chosen)
