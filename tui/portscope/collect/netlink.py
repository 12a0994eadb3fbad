"""Linux socket table from netlink sock_diag, through the standard library alone.

One dump per (family, protocol) hands back binary records, so there is no text to
split and no hex to decode: at 20,000 sockets this is the cheapest way to read the
table. The rows are the same `RawSocket`s that `procnet` produces, so owners attach
the same way. pyroute2 is not used: its decoder was measured at ~2 s for 25k sockets.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Iterator
from functools import lru_cache

from portscope.collect.procnet import TCP_STATES, RawSocket, format_ip
from portscope.model import Family, Proto

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
ALL_STATES = 0xFFFFFFFF
TCP_LISTEN = 10
UDP_CONNECTED = 1
RECV_BUFFER = 1 << 20

NLMSGHDR = struct.Struct("=IHHII")
INET_DIAG_REQ_V2 = struct.Struct("=BBBxI48x")
# inet_diag_msg: family, state, timer, retrans; sockid (sport, dport big-endian,
# src[16], dst[16], if, cookie[8]); expires, rqueue, wqueue, uid, inode.
INET_DIAG_MSG = struct.Struct("=xBxx2H16s16sI8x4xIIII")
NLMSGERR_CODE = struct.Struct("=i")

DUMPS: tuple[tuple[int, int, Proto, Family], ...] = (
    (socket.AF_INET, socket.IPPROTO_TCP, "tcp", "ipv4"),
    (socket.AF_INET6, socket.IPPROTO_TCP, "tcp", "ipv6"),
    (socket.AF_INET, socket.IPPROTO_UDP, "udp", "ipv4"),
    (socket.AF_INET6, socket.IPPROTO_UDP, "udp", "ipv6"),
)
STATE_NAMES = {int(code, 16): name for code, name in TCP_STATES.items()}


class NetlinkUnavailable(OSError):
    """The kernel (or a sandbox) refused sock_diag; callers fall back to /proc."""


def dump_request(family: int, protocol: int, sequence: int) -> bytes:
    """One SOCK_DIAG_BY_FAMILY dump request for every state of one family/protocol."""
    body = INET_DIAG_REQ_V2.pack(family, protocol, 0, ALL_STATES)
    header = NLMSGHDR.pack(
        NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0
    )
    return header + body


def messages(conn: socket.socket, sequence: int) -> Iterator[memoryview]:
    """Payloads of one dump's replies until NLMSG_DONE; an NLMSG_ERROR raises."""
    buffer = bytearray(RECV_BUFFER)
    view = memoryview(buffer)
    while True:
        size = conn.recv_into(buffer)
        offset = 0
        while offset + NLMSGHDR.size <= size:
            length, kind, _flags, seq, _pid = NLMSGHDR.unpack_from(buffer, offset)
            if length < NLMSGHDR.size:
                raise NetlinkUnavailable(errno.EPROTO, "malformed netlink reply")
            payload = view[offset + NLMSGHDR.size : offset + length]
            offset += (length + 3) & ~3
            if seq != sequence:
                continue
            if kind == NLMSG_DONE:
                return
            if kind == NLMSG_ERROR:
                code = -NLMSGERR_CODE.unpack_from(payload)[0]
                if code:
                    raise NetlinkUnavailable(code, f"sock_diag: {errno.errorcode.get(code, code)}")
                continue
            yield payload


@lru_cache(maxsize=64)
def interface_name(index: int) -> str:
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)


def local_address(family: Family, raw: bytes, interface: int) -> str:
    """The local address as ss prints it: link-local IPv6 carries its scope (fe80::1%eth0)."""
    if family == "ipv4":
        return format_ip(raw[:4])
    text = format_ip(raw)
    if interface and raw[0] == 0xFE and raw[1] & 0xC0 == 0x80:
        return f"{text}%{interface_name(interface)}"
    return text


def decode(payload: memoryview, proto: Proto, family: Family) -> RawSocket:
    """One inet_diag_msg as a RawSocket, with the same conventions as /proc/net."""
    (state, sport, dport, src, dst, interface, rqueue, wqueue, uid, inode) = (
        INET_DIAG_MSG.unpack_from(payload)
    )
    if proto == "tcp":
        name: str | None = STATE_NAMES.get(state, str(state))
        connected = state != TCP_LISTEN
    else:
        name = None
        connected = state == UDP_CONNECTED
    return RawSocket(
        proto=proto,
        family=family,
        local_address=local_address(family, src, interface),
        local_port=socket.ntohs(sport),
        remote_address=format_ip(dst if family == "ipv6" else dst[:4]) if connected else None,
        remote_port=socket.ntohs(dport) if connected else None,
        state=name,
        inode=inode,
        uid=uid,
        rx_queue=rqueue,
        tx_queue=wqueue,
    )


def read_sockets() -> list[RawSocket]:
    """Every inet socket in this network namespace; NetlinkUnavailable if refused."""
    rows: list[RawSocket] = []
    try:
        conn = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    except (OSError, AttributeError) as exc:
        raise NetlinkUnavailable(errno.EAFNOSUPPORT, f"netlink socket: {exc}") from exc
    with conn:
        try:
            for sequence, (family, protocol, proto, name) in enumerate(DUMPS, start=1):
                conn.send(dump_request(family, protocol, sequence))
                rows.extend(decode(msg, proto, name) for msg in messages(conn, sequence))
        except NetlinkUnavailable:
            raise
        except OSError as exc:
            raise NetlinkUnavailable(exc.errno or errno.EIO, f"sock_diag: {exc}") from exc
    return rows
