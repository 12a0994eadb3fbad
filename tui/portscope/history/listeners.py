"""What counts as "the same listener" for the history, baselines and diffs.

Two worker processes of one server on one port are one listener; a restart under a new
pid is the same one. A UDP socket with no peer on a port of the ephemeral range is
almost always a client's (a resolver's query socket, bound by the kernel for one
exchange): it is one listener per process and address, whatever port it has this time,
or every DNS lookup would be a listener appearing and going.
"""

from __future__ import annotations

from dataclasses import dataclass

from portscope.exposure import exposure_of
from portscope.model import EphemeralRange, Socket, endpoint, proto_label


@dataclass(frozen=True, slots=True, order=True)
class ListenerId:
    proto: str
    family: str
    address: str
    port: int | None
    """None: a port the kernel lent (see the module)."""
    process: str | None
    """None: not known (another user's, unprivileged); it then matches any process."""

    @property
    def exposure(self) -> str:
        return exposure_of(self.address)

    @property
    def where(self) -> str:
        """`tcp 0.0.0.0:8080`, `udp6 [::]:*` for a lent port."""
        if self.port is None:
            place = f"[{self.address}]:*" if ":" in self.address else f"{self.address}:*"
        else:
            place = endpoint(self.address, self.port)
        return f"{proto_label(self.proto, self.family)} {place}"

    def matches(self, other: ListenerId) -> bool:
        """Same place, and the same process unless one of them is not known."""
        same_place = (self.proto, self.family, self.address, self.port) == (
            other.proto,
            other.family,
            other.address,
            other.port,
        )
        unknown = self.process is None or other.process is None
        return same_place and (unknown or self.process == other.process)


def listener_id(sock: Socket, ephemeral: EphemeralRange) -> ListenerId:
    lent = sock.proto == "udp" and sock.local_port in ephemeral
    return ListenerId(
        sock.proto,
        sock.family,
        sock.local_address,
        None if lent else sock.local_port,
        sock.owner.name if sock.owner else None,
    )
