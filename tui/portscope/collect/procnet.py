"""Linux socket table from /proc/net/{tcp,tcp6,udp,udp6}: no owners, but inode and uid.

Reading these files is several times cheaper than psutil.net_connections(), which
also walks every process's fd table on every call; owners are attached separately
from a cache (see `owners`).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from portscope.collect.skipped import Skipped
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


HEX = "[0-9A-F]"
ROW = {
    width: re.compile(
        rf" *\d+: ({HEX}{{{width}}}):({HEX}{{4}}) ({HEX}{{{width}}}):({HEX}{{4}}) ({HEX}{{2}}) "
        rf"({HEX}{{8}}):({HEX}{{8}}) {HEX}+:{HEX}+ {HEX}+ +(\d+) +-?\d+ +(\d+)(?: |$)"
    )
    for width in (8, 32)
}
"""One row as the kernel prints it (`%08X:%04X`, ...), up to the inode; what follows is
not read. Every field is checked by its width and digits, so a port is never above
0xFFFF and an address is always 4 or 16 bytes."""
ADDRESS_WIDTH: dict[Family, int] = {"ipv4": 8, "ipv6": 32}
MAX_UID = 2**32 - 1
MAX_INODE = 2**64 - 1


class TableProblem(ValueError):
    """A file that is not a socket table at all: no rows can be trusted from it."""


def parse_table(text: str, proto: Proto, family: Family, rejects: Skipped) -> Iterator[RawSocket]:
    """Decode one /proc/net table. Raises TableProblem when its first line is not the
    kernel's header; a row that is not what the kernel writes is skipped and counted in
    `rejects` (by its line number in the file, the header being line 1).

    A LISTEN row's tx_queue column is not its backlog (the kernel prints the unsent
    byte count there, always 0), so a listener's backlog is left unknown; netlink
    sock_diag reports it.
    """
    lines = text.split("\n")  # not splitlines(): a \f or \x1c inside a row is no line break
    if lines[-1] == "":
        lines.pop()
    if not lines or lines[0].split()[:2] != ["sl", "local_address"]:
        raise TableProblem("not a socket table (no kernel header line)")
    row = ROW[ADDRESS_WIDTH[family]].match
    for number, line in enumerate(lines[1:], start=2):
        fields = row(line)
        parsed = None if fields is None else parse_row(fields.groups(), proto, family)
        if parsed is not None:
            yield parsed
        else:
            rejects.add(number)


def parse_row(fields: tuple[str, ...], proto: Proto, family: Family) -> RawSocket | None:
    """One table row from `ROW`'s groups; None when a value is out of range (a state the
    kernel does not have, a uid or inode wider than the kernel's)."""
    local_hex, local_port, remote_hex, remote_port, code, tx_hex, rx_hex, uid_text, inode_text = (
        fields
    )
    name = TCP_STATES.get(code)
    uid, inode = int(uid_text), int(inode_text)
    if name is None or uid > MAX_UID or inode > MAX_INODE:
        return None
    if proto == "tcp":
        state: str | None = name
        connected = state != "LISTEN"
    else:
        state = None
        connected = code == UDP_ESTABLISHED
    return RawSocket(
        proto=proto,
        family=family,
        local_address=decode_address(local_hex),
        local_port=int(local_port, 16),
        remote_address=decode_address(remote_hex) if connected else None,
        remote_port=int(remote_port, 16) if connected else None,
        state=state,
        inode=inode,
        uid=uid,
        rx_queue=int(rx_hex, 16),
        tx_queue=None if state == "LISTEN" else int(tx_hex, 16),
    )


def read_tables(root: str = "/proc/net") -> tuple[list[RawSocket], list[str]]:
    """Every inet socket in this network namespace, plus a note for each table that could
    not be read or held lines that are not rows (one note per table, with a count).

    Raises OSError when not one table can be read: that is a failed poll (a wrong or
    hidden root), not an empty machine.
    """
    rows: list[RawSocket] = []
    errors: list[str] = []
    found = 0
    for name, proto, family in TABLES:
        path = f"{root}/{name}"
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            continue  # no IPv6 in this kernel, say
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}")
            continue
        rejects = Skipped("line")
        try:
            rows.extend(parse_table(ascii_text(data), proto, family, rejects))
        except TableProblem as exc:
            errors.append(f"{path}: {exc}")
            continue
        found += 1
        if rejects.count:
            errors.append(rejects.note(path))
    if not found:
        raise OSError(errors[0] if errors else f"no socket tables in {root}")
    return rows, errors


def ascii_text(data: bytes) -> str:
    """The kernel writes these tables in ASCII; any other byte becomes U+FFFD, which no
    row pattern matches, so only the lines holding one are lost."""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return data.decode("ascii", "replace")
