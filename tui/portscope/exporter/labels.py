"""Label values: text from the system made inert, and where a socket or process lives.

prometheus_client escapes what the text format needs escaped (backslash, double quote,
newline), so a process name can never end a label or start a series of its own. It
does not make the value readable or small: a process name is also made inert text
here (`sanitise.printable`: escapes for control, bidi and invalid UTF-8, so a label is
always valid UTF-8) and cut to `VALUE_LIMIT` characters, so a 100 kB argv[0] cannot
swell every scrape.
"""

from __future__ import annotations

from portscope.model import Owner, Socket
from portscope.sanitise import printable

VALUE_LIMIT = 128
"""The longest label value taken from the system, in characters."""

HOST_NETNS = "host"
"""The `netns` of the namespace portscope runs in (the host's, deployed as a service),
the only one it reads so far."""
OWNER_LABELS = ("container", "unit", "process")
"""What a series about a process says of it; `netns` comes first, from the socket."""


def netns_of(sock: Socket) -> str:
    """The network namespace a socket lives in, as an operator names it.

    Every socket is read in portscope's own namespace so far: "host". Once sockets carry
    their namespace this names it (an `ip netns` name, a container's), and no series
    is renamed: only new values appear.
    """
    return HOST_NETNS


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
