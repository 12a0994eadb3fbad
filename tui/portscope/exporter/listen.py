"""Where `portscope serve` listens: `ADDRESS:PORT`, read without a name lookup.

Only IP literals are taken (IPv6 in brackets, as in a URL), so what is checked against
the loopback rule is exactly what is bound: a host name could resolve to anything,
and differently tomorrow.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from portscope.addresses import is_loopback, parse_ip
from portscope.model import endpoint

_LISTEN = re.compile(
    r"\[(?P<v6>[^\[\]]+)\]:(?P<port6>[0-9]{1,5})|(?P<v4>[0-9.]+):(?P<port4>[0-9]{1,5})", re.ASCII
)
ACCEPTED = "ADDRESS:PORT (an IPv4 address, or an IPv6 one in brackets, and a port 1-65535)"


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return endpoint(self.host, self.port)

    @property
    def loopback(self) -> bool:
        """127.0.0.0/8 or ::1: reachable from this host only."""
        return is_loopback(self.host)

    def resolved(self) -> tuple[socket.AddressFamily, tuple[str, int] | tuple[str, int, int, int]]:
        """(family, socket address) to bind, scope id included; never a DNS query."""
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV | socket.AI_PASSIVE
        family, _type, _proto, _name, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=flags
        )[0]
        return family, address


def parse_listen(text: str) -> ListenAddress:
    """`127.0.0.1:20216`, `[::1]:20216`; a ValueError saying what is accepted otherwise."""
    match = _LISTEN.fullmatch(text)
    if match is None:
        raise ValueError(f"{text[:60]!r} is not {ACCEPTED}")
    host = match["v6"] or match["v4"]
    port = int(match["port6"] or match["port4"])
    ip = parse_ip(host)
    wanted = 6 if match["v6"] else 4
    if ip is None or ip.version != wanted or not 1 <= port <= 65535:
        raise ValueError(f"{text[:60]!r} is not {ACCEPTED}")
    return ListenAddress(host, port)
