"""How exposed a listener is, judged from where a connection can come from.

One place classifies a bind address, so the dashboard, the JSON and the lookup card
never disagree about what "all interfaces" means. A container with a network of its
own changes the answer: its 0.0.0.0 is that network's, reachable from the host and
its sibling containers only, unless a port is published, when the host binding's
address says how far it reaches.
"""

from __future__ import annotations

from typing import Literal

from portscope.addresses import is_loopback, plain_address, scope_of
from portscope.model import InterfaceTable, Snapshot, Socket

Exposure = Literal["loopback", "container", "interface", "all"]
WILDCARDS = frozenset({"0.0.0.0", "::", "*"})
LABELS: dict[Exposure, str] = {
    "loopback": "loopback only",
    "container": "container network only",
    "interface": "one interface",
    "all": "all interfaces",
}


def exposure_label(kind: str) -> str:
    """`all interfaces` for `all`, as a record that stored the kind names it."""
    return dict(LABELS).get(kind, kind)


def exposure_of(address: str) -> Exposure:
    """loopback for 127.0.0.0/8 and ::1 (v4-mapped too), all for a wildcard, else one interface."""
    if plain_address(address) in WILDCARDS:
        return "all"
    return "loopback" if is_loopback(address) else "interface"


def bind_label(address: str, interfaces: InterfaceTable) -> str:
    """Name the bind address: `all interfaces`, or the interface that owns it (`lo`, `eth0`)."""
    if exposure_of(address) == "all":
        return LABELS["all"]
    return (
        scope_of(address)
        or interfaces.name_for(address)
        or ("lo" if exposure_of(address) == "loopback" else "not local")
    )


REACH: dict[Exposure, int] = {"loopback": 0, "container": 1, "interface": 2, "all": 3}
"""How far each reaches, to pick the widest of a port's host bindings."""


def listener_exposure(sock: Socket, snapshot: Snapshot) -> Exposure:
    """A listener's exposure: a published container port has its widest host
    binding's; a container's listener otherwise reaches no further than its own
    network; anything else is judged by its address."""
    served = [
        exposure_of(p.binding.host_address)
        for p in snapshot.publications(sock)
        if p.server is not None and p.server.key == sock.key
    ]
    if served:
        return max(served, key=REACH.__getitem__)
    bound = exposure_of(sock.local_address)
    placement = sock.owner.placement if sock.owner else None
    own_network = (
        placement is not None and placement.container is not None and placement.own_network
    )
    return "container" if own_network and bound != "loopback" else bound
