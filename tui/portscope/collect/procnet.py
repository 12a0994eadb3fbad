"""Linux socket table from /proc/net/{tcp,tcp6,udp,udp6}: no owners, but inode and uid.

Reading these files is several times cheaper than psutil.net_connections(), which
also walks every process's fd table on every call; owners are attached separately
from a cache (see `owners`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from portscope.model import Family, Proto

TABLES: tuple[tuple[str, Proto, Family], ...] = (
    ("tcp", "tcp", "ipv4"),
    ("tcp6", "tcp", "ipv6"),
    ("udp", "udp", "ipv4"),
    ("udp6", "udp", "ipv6"),
)

TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
    "0C": "NEW_SYN_RECV",
}
UDP_ESTABLISHED = "01"
V4_MAPPED_PREFIX = b"\0" * 10 + b"\xff\xff"


class RawSocket(NamedTuple):
    """One row of the kernel's socket table, decoded; owner not yet known.

    A NamedTuple rather than a dataclass: at 20,000 rows a poll, construction cost shows.
    """

    proto: Proto
    family: Family
    local_address: str
    local_port: int
    remote_address: str | None
    remote_port: int | None
    state: str | None
    inode: int
    uid: int
    rx_queue: int
    tx_queue: int | None


@lru_cache(maxsize=8192)
def format_ip(packed: bytes) -> str:
    """Network-order address bytes to a plain IP string.

    v4-mapped IPv6 addresses print as ::ffff:a.b.c.d, the way ss shows them.
    """
    if len(packed) == 4:
        return socket.inet_ntop(socket.AF_INET, packed)
    if packed[:12] == V4_MAPPED_PREFIX:
        return "::ffff:" + socket.inet_ntop(socket.AF_INET, packed[12:])
    return socket.inet_ntop(socket.AF_INET6, packed)


@lru_cache(maxsize=8192)
def decode_address(hex_address: str) -> str:
    """Kernel hex (host-order 32-bit words) to a plain IP string."""
    raw = bytes.fromhex(hex_address)
    return format_ip(b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4)))


def parse_table(text: str, proto: Proto, family: Family) -> Iterator[RawSocket]:
    """Decode one /proc/net table; the header line and malformed rows are skipped.

    A LISTEN row's tx_queue column is not its backlog (the kernel prints the unsent
    byte count there, always 0), so a listener's backlog is left unknown; netlink
    sock_diag reports it.
    """
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            yield parse_row(fields, proto, family)
        except ValueError:
            continue


def parse_row(fields: list[str], proto: Proto, family: Family) -> RawSocket:
    """One table row, split on whitespace; ValueError when a field is not what it must be."""
    local_hex, local_port_hex = fields[1].split(":")
    remote_hex, remote_port_hex = fields[2].split(":")
    tx_hex, rx_hex = fields[4].split(":")
    code = fields[3]
    if proto == "tcp":
        state: str | None = TCP_STATES.get(code, code)
        connected = state != "LISTEN"
    else:
        state = None
        connected = code == UDP_ESTABLISHED
    return RawSocket(
        proto=proto,
        family=family,
        local_address=decode_address(local_hex),
        local_port=int(local_port_hex, 16),
        remote_address=decode_address(remote_hex) if connected else None,
        remote_port=int(remote_port_hex, 16) if connected else None,
        state=state,
        inode=int(fields[9]),
        uid=int(fields[7]),
        rx_queue=int(rx_hex, 16),
        tx_queue=None if state == "LISTEN" else int(tx_hex, 16),
    )


def read_tables(root: str = "/proc/net") -> tuple[list[RawSocket], list[str]]:
    """Every inet socket in this network namespace, plus a note for each unreadable table.

    Raises OSError when not one table can be read: that is a failed poll (a wrong or
    hidden root), not an empty machine.
    """
    rows: list[RawSocket] = []
    errors: list[str] = []
    found = 0
    for name, proto, family in TABLES:
        path = f"{root}/{name}"
        try:
            with open(path, encoding="ascii") as handle:
                text = handle.read()
        except FileNotFoundError:
            continue  # no IPv6 in this kernel, say
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}")
            continue
        found += 1
        rows.extend(parse_table(text, proto, family))
    if not found:
        raise OSError(errors[0] if errors else f"no socket tables in {root}")
    return rows, errors
