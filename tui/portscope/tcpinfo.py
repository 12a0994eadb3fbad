"""The kernel's `struct tcp_info` (include/uapi/linux/tcp.h), read by offset.

sock_diag hands it over as the INET_DIAG_INFO attribute, sized to the running kernel's
struct: fields are only ever appended, so the attribute's length says which of them
this kernel has. A field past its end is absent (None), never 0. Only the stretch from
`tcpi_rtt` to `tcpi_sndbuf_limited` is kept (`KEPT_FROM`, `KEPT_TO`), as the kernel's
bytes, and decoded when someone reads it. Pure: the collector cuts the bytes, the
analysis and the reports decode them.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

KEPT_FROM = 68
"""Offset of `tcpi_rtt`, the first field kept."""
KEPT_TO = 192
"""End of `tcpi_sndbuf_limited`, the last field kept (Linux 4.10's struct ends here)."""


class Field(NamedTuple):
    """One tcp_info member: its offset in the kernel's struct, its struct format, and
    the Linux release that added it."""

    offset: int
    kind: str
    since: str


FIELDS: dict[str, Field] = {
    "rtt": Field(68, "I", "2.6"),
    "rttvar": Field(72, "I", "2.6"),
    "total_retrans": Field(100, "I", "2.6"),
    "bytes_acked": Field(120, "Q", "4.1"),
    "bytes_received": Field(128, "Q", "4.1"),
    "segs_out": Field(136, "I", "4.2"),
    "segs_in": Field(140, "I", "4.2"),
    "min_rtt": Field(148, "I", "4.6"),
    "delivery_rate": Field(160, "Q", "4.9"),
    "busy_time": Field(168, "Q", "4.10"),
    "rwnd_limited": Field(176, "Q", "4.10"),
    "sndbuf_limited": Field(184, "Q", "4.10"),
}
"""The members kept, in struct order (`tcpi_` dropped)."""


class TcpInfo(NamedTuple):
    """One reading of a TCP socket's tcp_info; None where this kernel lacks the field.

    Times are in microseconds, rates in bytes a second. `bytes_acked` is what the peer
    acknowledged (ss's `bytes_acked`): it counts the SYN of a connection this side
    opened, and a FIN once acknowledged, as one byte each; `bytes_received` counts the
    peer's FIN likewise. `busy_time` is every microsecond the socket had data to send,
    of which `rwnd_limited` waited on the receiver's window and `sndbuf_limited` on the
    send buffer; the rest was the network's (the congestion window). A NamedTuple: a
    poll decodes thousands.
    """

    rtt: int | None
    rttvar: int | None
    total_retrans: int | None
    bytes_acked: int | None
    bytes_received: int | None
    segs_out: int | None
    segs_in: int | None
    min_rtt: int | None
    delivery_rate: int | None
    busy_time: int | None
    rwnd_limited: int | None
    sndbuf_limited: int | None


def _layout() -> struct.Struct:
    """The kept stretch as one format: each field at its offset, padding between."""
    parts, at = ["="], KEPT_FROM
    for offset, kind, _since in FIELDS.values():
        parts.append(f"{offset - at}x{kind}" if offset > at else kind)
        at = offset + struct.calcsize(kind)
    parts.append(f"{KEPT_TO - at}x" if at < KEPT_TO else "")
    return struct.Struct("".join(parts))


KEPT = _layout()
assert KEPT.size == KEPT_TO - KEPT_FROM


def kept_length(attribute_length: int) -> int:
    """How many bytes of an INET_DIAG_INFO payload of this length are kept."""
    return max(0, min(attribute_length, KEPT_TO) - KEPT_FROM)


def decode(kept: bytes) -> TcpInfo:
    """A reading from the kept bytes (`kept_length` of them): the fields they reach."""
    if len(kept) == KEPT.size:
        return tuple.__new__(TcpInfo, KEPT.unpack(kept))  # _make's checks cost twice this
    end = KEPT_FROM + len(kept)
    return TcpInfo._make(
        struct.unpack_from(f"={kind}", kept, offset - KEPT_FROM)[0]
        if offset + struct.calcsize(kind) <= end
        else None
        for offset, kind, _since in FIELDS.values()
    )


def absent_fields(kept: int) -> frozenset[str]:
    """The kept fields a kernel lacks whose kept bytes are `kept` long."""
    end = KEPT_FROM + kept
    return frozenset(
        name
        for name, (offset, kind, _since) in FIELDS.items()
        if offset + struct.calcsize(kind) > end
    )
