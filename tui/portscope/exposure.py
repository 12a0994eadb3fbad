"""How exposed a listener is, judged from its bind address alone.

One place classifies a bind address, so the dashboard, the JSON and the lookup card
never disagree about what "all interfaces" means.
"""

from __future__ import annotations

from typing import Literal

from portscope.addresses import is_loopback, plain_address, scope_of
from portscope.model import InterfaceTable

Exposure = Literal["loopback", "interface", "all"]
WILDCARDS = frozenset({"0.0.0.0", "::", "*"})
LABELS: dict[Exposure, str] = {
    "loopback": "loopback only",
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
