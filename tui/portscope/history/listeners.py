"""What counts as "the same listener" for the history, baselines and diffs.

Two worker processes of one server on one port are one listener; a restart under a new
pid is the same one. A UDP socket with no peer on a port of the ephemeral range is
almost always a client's (a resolver's query socket, bound by the kernel for one
exchange): it is one listener per process and address, whatever port it has this time,
or every DNS lookup would be a listener appearing and going.

Each network namespace has its own ports, so a listener is also known by its
namespace's name (`host`, an `ip netns` or container name): a container's 0.0.0.0:8080
and the host's are two listeners. The name, not the inode, because a baseline outlives
a reboot and a container outlives its namespace. How far it reaches (`exposure`, with
the `container` kind for a container's unpublished listener) and the container or unit
its process runs in (`place`) describe it without being part of what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portscope.exposure import exposure_of, listener_exposure
from portscope.model import Snapshot, Socket, endpoint, proto_label

HOST = "host"


@dataclass(frozen=True, slots=True, order=True)
class ListenerId:
    proto: str
    family: str
    address: str
    port: int | None
    """None: a port the kernel lent (see the module)."""
    process: str | None
    """None: not known (another user's, unprivileged); it then matches any process."""
    netns: str = HOST
    """Its network namespace's name."""
    exposure: str = field(default="", compare=False)
    """`loopback`, `container`, `interface` or `all` (`exposure`); "" = by its address."""
    place: str | None = field(default=None, compare=False)
    """The container or unit its process runs in, where known."""

    def __post_init__(self) -> None:
        if not self.exposure:
            object.__setattr__(self, "exposure", exposure_of(self.address))

    @property
    def where(self) -> str:
        """`tcp 0.0.0.0:8080`, `udp6 [::]:*` for a lent port, `tcp 0.0.0.0:8080 in web`
        in a namespace other than the host's."""
        if self.port is None:
            spot = f"[{self.address}]:*" if ":" in self.address else f"{self.address}:*"
        else:
            spot = endpoint(self.address, self.port)
        inside = "" if self.netns == HOST else f" in {self.netns}"
        return f"{proto_label(self.proto, self.family)} {spot}{inside}"

    def matches(self, other: ListenerId) -> bool:
        """Same place, and the same process unless one of them is not known."""
        same_place = (self.proto, self.family, self.address, self.port, self.netns) == (
            other.proto,
            other.family,
            other.address,
            other.port,
            other.netns,
        )
        unknown = self.process is None or other.process is None
        return same_place and (unknown or self.process == other.process)


def listener_id(sock: Socket, snapshot: Snapshot) -> ListenerId:
    """The listener `sock` is, in the snapshot that has it (its namespace's name and
    range, its exposure there)."""
    lent = sock.proto == "udp" and sock.local_port in snapshot.range_in(sock.netns)
    return ListenerId(
        sock.proto,
        sock.family,
        sock.local_address,
        None if lent else sock.local_port,
        sock.owner.name if sock.owner else None,
        snapshot.namespace_name(sock.netns),
        listener_exposure(sock, snapshot),
        sock.owner.where if sock.owner else None,
    )
