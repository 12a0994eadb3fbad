"""Label values: text from the system made inert, and where a socket or process lives.

prometheus_client escapes what the text format needs escaped (backslash, double quote,
newline), so a process name can never end a label or start a series of its own. It
does not make the value readable or small: a process name is also made inert text
here (`sanitise.printable`: escapes for control, bidi and invalid UTF-8, so a label is
always valid UTF-8) and cut to `VALUE_LIMIT` characters, so a 100 kB argv[0] cannot
swell every scrape.
"""

from __future__ import annotations

from portscope.model import Owner, Snapshot
from portscope.sanitise import printable

VALUE_LIMIT = 128
"""The longest label value taken from the system, in characters."""

HOST_NETNS = "host"
"""The `netns` of the host's namespace, and of the figures that are the whole
machine's (hidden owners, destinations counted)."""
OWNER_LABELS = ("container", "unit", "process")
"""What a series about a process says of it; `netns` comes first, from the socket."""


def netns_label(snapshot: Snapshot, netns: int) -> str:
    """The network namespace with inode `netns` (a socket's), as an operator names it:
    `host`, an `ip netns` name, a container's, or `netns:<inode>`; inert text."""
    return printable(snapshot.namespace_name(netns), VALUE_LIMIT)


def owner_labels(owner: Owner | None) -> tuple[str, str, str]:
    """(container, unit, process) of the process holding a socket: the container by
    name (its short id where the runtime's API did not say), the systemd unit of a
    process in no container; empty where there is none, which Prometheus reads as an
    absent label. All empty for an owner this user cannot see.
    """
    if owner is None:
        return "", "", ""
    container = owner.container
    return (
        printable(container.label, VALUE_LIMIT) if container else "",
        printable(owner.unit, VALUE_LIMIT) if owner.unit else "",
        printable(owner.name, VALUE_LIMIT),
    )
