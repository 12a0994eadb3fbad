"""How exposed a listener is, judged from its bind address alone.

One place classifies a bind address, so the dashboard, the JSON and the lookup card
never disagree about what "all interfaces" means.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from portscope.model import InterfaceTable

Exposure = Literal["loopback", "interface", "all"]
WILDCARDS = frozenset({"0.0.0.0", "::", "*"})
LABELS: dict[Exposure, str] = {
    "loopback": "loopback only",
    "interface": "one interface",
    "all": "all interfaces",
}


def exposure_of(address: str) -> Exposure:
    """loopback for 127.0.0.0/8 and ::1 (v4-mapped too), all for a wildcard, else one interface."""
    if address in WILDCARDS:
        return "all"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "interface"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return "loopback" if ip.is_loopback else "interface"


def bind_label(address: str, interfaces: InterfaceTable) -> str:
    """Name the bind address: `all interfaces`, or the interface that owns it (`lo`, `eth0`)."""
    if exposure_of(address) == "all":
        return LABELS["all"]
    if "%" in address:
        return address.split("%", 1)[1]
    return interfaces.name_for(address) or (
        "lo" if exposure_of(address) == "loopback" else "not local"
    )
