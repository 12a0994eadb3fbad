"""Where a port sits: RFC 6335's class, this OS's ephemeral range, and how to check by hand.

The one place that classifies a port; the card, the JSON and the dashboard all ask here.
"""

from __future__ import annotations

from portscope.model import EphemeralRange

SYSTEM_CLASS, USER_CLASS, DYNAMIC_CLASS = "system", "user", "dynamic"
CLASS_SPANS = {SYSTEM_CLASS: (0, 1023), USER_CLASS: (1024, 49151), DYNAMIC_CLASS: (49152, 65535)}
LINUX_DEFAULT_EPHEMERAL = (32768, 60999)
CLASS_NAMES = {
    SYSTEM_CLASS: "system (well-known)",
    USER_CLASS: "user (registered)",
    DYNAMIC_CLASS: "dynamic/private",
}


def iana_class(port: int) -> str:
    """RFC 6335 section 6: system 0-1023, user 1024-49151, dynamic/private 49152-65535."""
    if port < CLASS_SPANS[USER_CLASS][0]:
        return SYSTEM_CLASS
    if port < CLASS_SPANS[DYNAMIC_CLASS][0]:
        return USER_CLASS
    return DYNAMIC_CLASS


def describe_class(port: int) -> str:
    kind = iana_class(port)
    low, high = CLASS_SPANS[kind]
    return f"{CLASS_NAMES[kind]} range {low}-{high} (RFC 6335)"


def range_facts(port: int, rng: EphemeralRange) -> tuple[str, ...]:
    """Whether this OS lends the port to outgoing connections, and where that disagrees
    with IANA's dynamic range (Linux lends 32768-60999 by default, IANA says 49152-65535)."""
    span = f"{rng.low}-{rng.high}"
    if (rng.low, rng.high) == LINUX_DEFAULT_EPHEMERAL:
        span += ", Linux's default"
    dyn_low, dyn_high = CLASS_SPANS[DYNAMIC_CLASS]
    in_iana = dyn_low <= port <= dyn_high
    in_span = rng.low <= port <= rng.high
    if port in rng.reserved:
        facts = [
            f"Inside this OS's ephemeral range {span} but reserved "
            "(ip_local_reserved_ports): the kernel never lends it to outgoing connections."
        ]
    elif in_span:
        facts = [
            f"This OS lends it to outgoing connections: ephemeral range {span} ({rng.source})."
        ]
    else:
        facts = [f"This OS does not lend it to outgoing connections (ephemeral range {span})."]
    if in_span and not in_iana:
        facts.append(
            f"IANA counts it as a {iana_class(port)} port, outside its dynamic range "
            f"{dyn_low}-{dyn_high}: this OS's range differs from IANA's here."
        )
    elif in_iana and not in_span:
        facts.append(
            f"IANA puts it in the dynamic range {dyn_low}-{dyn_high}, but this OS's "
            f"range {span} leaves it out, so the kernel will not hand it out."
        )
    return tuple(facts)


def check_commands(port: int, platform: str) -> tuple[str, ...]:
    """The commands a person would type on this OS to see who uses the port."""
    if platform == "win32":
        return (
            f"netstat -ano | findstr :{port}",
            f"Get-NetTCPConnection -LocalPort {port}",
            f"Get-NetUDPEndpoint -LocalPort {port}",
        )
    if platform == "darwin":
        return (
            f"lsof -nP -i :{port}",
            f"netstat -an | grep '\\.{port} '",
            f"nmap -p {port} localhost",
        )
    if platform.startswith("linux"):
        return (
            f"ss -tulpn 'sport = :{port}'",
            f"ss -tunp '( sport = :{port} or dport = :{port} )'",
            f"lsof -i :{port}",
            f"nmap -p {port} localhost",
        )
    return (f"lsof -nP -i :{port}", f"netstat -an | grep {port}", f"nmap -p {port} localhost")
