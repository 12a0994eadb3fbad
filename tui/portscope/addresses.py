"""The one place that reads an address string: scope ids, case, v4-mapped IPv6.

The kernel prints `fe80::1%eth0` with its scope, hands IPv4 peers to dual-stack sockets
as `::ffff:192.0.2.7`, and $SSH_CONNECTION or an interface list may spell an IPv6 address
in another case or form. Everything that compares, classifies or sorts addresses asks
here, so those spellings never disagree. Called for every socket of every poll, so the
parse is cached (few distinct addresses repeat across thousands of sockets).
"""

from __future__ import annotations

import socket
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address

IP = IPv4Address | IPv6Address
FAMILIES: tuple[tuple[int, type[IP]], ...] = (
    (socket.AF_INET, IPv4Address),
    (socket.AF_INET6, IPv6Address),
)


def unscoped(address: str) -> str:
    """The address without its `%scope` (the interface of an IPv6 link-local address)."""
    return address.partition("%")[0]


def scope_of(address: str) -> str | None:
    """The `%scope` of an address (an interface name), or None when it has none."""
    _, percent, scope = address.partition("%")
    return scope if percent else None


@lru_cache(maxsize=65_536)
def parse_ip(address: str | None) -> IP | None:
    """The IP an address names, in any case and without its scope; None when it names
    none. A v4-mapped address stays IPv6 here: its socket is an IPv6 one.

    Read by `inet_pton`, the kernel's own notation, then wrapped: `ip_address`'s parser
    is several times slower, and one poll can bring thousands of new peers."""
    if not address:
        return None
    text = unscoped(address)
    for family, wrap in FAMILIES:
        try:
            return wrap(socket.inet_pton(family, text))
        except (OSError, ValueError):
            continue
    return None


def plain_ip(address: str | None) -> IP | None:
    """The IP as the kernel compares it: a v4-mapped IPv6 address is its IPv4 address."""
    ip = parse_ip(address)
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@lru_cache(maxsize=65_536)
def plain_address(address: str) -> str:
    """`plain_ip` as text (lower-case, compressed IPv6; dotted IPv4), so two spellings of
    one address compare equal; text that is no IP comes back without its scope."""
    ip = plain_ip(address)
    return unscoped(address) if ip is None else str(ip)


def is_loopback(address: str) -> bool:
    """127.0.0.0/8 and ::1, v4-mapped or scoped too; False for anything that is no IP."""
    ip = plain_ip(address)
    return ip is not None and ip.is_loopback
