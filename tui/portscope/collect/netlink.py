"""Linux socket table from netlink sock_diag, through the standard library alone.

One dump per (family, protocol) hands back binary records, so there is no text to
split and no hex to decode: at 20,000 sockets this is the cheapest way to read the
table. The rows are the same `RawSocket`s that `procnet` produces, so owners attach
the same way. pyroute2 is not used: its decoder takes many times a poll's budget at that
scale (BENCHMARKS.md, "Behind the code"). Asked to, it also brings each TCP socket's
`tcp_info` (`tcpinfo`), cut out of the reply as bytes and left undecoded.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from socket import ntohs
from typing import NamedTuple

from portscope.collect.procnet import TCP_STATES, RawSocket, format_ip
from portscope.model import Family, Proto
from portscope.tcpinfo import KEPT_FROM, kept_length

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
SOCK_DESTROY = 21
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
ALL_STATES = 0xFFFFFFFF
TCP_TIME_WAIT = 6
TCP_NEW_SYN_RECV = 12
HOLDABLE_STATES = ALL_STATES & ~(1 << TCP_TIME_WAIT | 1 << TCP_NEW_SYN_RECV)
"""States a socket can be in while a process holds it: a recount skips the rest, which
have no inode, so thousands of TIME_WAIT sockets are not even formatted by the kernel."""
TCP_LISTEN = 10
UDP_CONNECTED = 1
RECV_BUFFER = 1 << 16  # a dump batch is at most 32 KiB
INET_DIAG_INFO = 2
WANT_INFO = 1 << (INET_DIAG_INFO - 1)
"""idiag_ext bit asking for INET_DIAG_INFO: struct tcp_info for every full TCP socket
(not TIME_WAIT or SYN_RECV, which the kernel keeps as mini sockets without one)."""
NLA_HEADER = struct.Struct("=HH")
NLA_TYPE_MASK = 0x3FFF

NLMSGHDR = struct.Struct("=IHHII")
INET_DIAG_REQ_V2 = struct.Struct("=BBBxI48s")
"""inet_diag_req_v2: family, protocol, extensions, states; the socket id (zeros in a dump)."""
# inet_diag_msg: family, state, timer, retrans; sockid (sport, dport big-endian,
# src[16], dst[16], if, cookie[8]); expires, rqueue, wqueue, uid, inode.
INET_DIAG_MSG = struct.Struct("=xBxx2H16s16sI8x4xIIII")
SOCKID = slice(4, 52)
"""Where an inet_diag_msg holds its inet_diag_sockid: ends, interface and cookie, the
kernel's exact name for one socket."""
NO_SOCKID = bytes(SOCKID.stop - SOCKID.start)
NLMSGERR_CODE = struct.Struct("=i")
INODE_AT = 68
INODE = struct.Struct(f"={INODE_AT}xI")
FIRST_WORD = struct.Struct("=I")
NLM_F_MULTI = 0x2
ROW_KIND = FIRST_WORD.unpack(struct.pack("=HH", SOCK_DIAG_BY_FAMILY, NLM_F_MULTI))[0]
"""nlmsg_type and nlmsg_flags of a dump row, read together as one native 32-bit word."""

Dump = tuple[int, int, Proto, Family]
"""What to ask for (address family, IP protocol) and how to label the rows."""

DUMPS: tuple[Dump, ...] = (
    (socket.AF_INET, socket.IPPROTO_TCP, "tcp", "ipv4"),
    (socket.AF_INET6, socket.IPPROTO_TCP, "tcp", "ipv6"),
    (socket.AF_INET, socket.IPPROTO_UDP, "udp", "ipv4"),
    (socket.AF_INET6, socket.IPPROTO_UDP, "udp", "ipv6"),
)
STATE_NAMES = {int(code, 16): name for code, name in TCP_STATES.items()}


class NetlinkUnavailable(OSError):
    """The kernel (or a sandbox) refused sock_diag; callers fall back to /proc."""


def dump_request(
    family: int, protocol: int, sequence: int, states: int = ALL_STATES, extensions: int = 0
) -> bytes:
    """One SOCK_DIAG_BY_FAMILY dump request for `states` (a bit per state) of one
    family/protocol, with the attributes `extensions` asks for (idiag_ext bits)."""
    body = INET_DIAG_REQ_V2.pack(family, protocol, extensions, states, NO_SOCKID)
    header = NLMSGHDR.pack(
        NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0
    )
    return header + body


def destroy_request(family: int, protocol: int, sockid: bytes, sequence: int) -> bytes:
    """SOCK_DESTROY for the one socket `sockid` names (cookie included), acknowledged:
    the request `ss -K` sends."""
    body = INET_DIAG_REQ_V2.pack(family, protocol, 0, 0, sockid)
    header = NLMSGHDR.pack(
        NLMSGHDR.size + len(body), SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, sequence, 0
    )
    return header + body


class Table(NamedTuple):
    """A dump's rows, and the inodes among them (0, for no holder, left out); when
    tcp_info was asked for, `infos` holds each row's kept tcp_info bytes (None for a row
    without one), in the order of `rows`."""

    rows: list[RawSocket]
    inodes: set[int]
    infos: list[bytes | None] | None = None


Batch = tuple[bytes, Sequence[int], int]
"""A received buffer, the offsets of its inet_diag_msg payloads, and the length of every
message in it when they are all alike (0 when not)."""


def uniform_length(buffer: bytes, sequence: int) -> int:
    """The common length of the messages in `buffer` if all are rows of this dump, else 0.

    Checked a column at a time (lengths, type/flags, sequence numbers), by striding over
    the buffer as 32-bit words: no per-message Python work for the usual batch.
    """
    size = len(buffer)
    length = FIRST_WORD.unpack_from(buffer)[0] if size >= NLMSGHDR.size else 0
    if length < NLMSGHDR.size + INET_DIAG_MSG.size or length % 4 or size % length:
        return 0
    count, step = size // length, length // 4
    words = memoryview(buffer).cast("I")
    alike = (
        words[0::step].tolist().count(length) == count
        and words[1::step].tolist().count(ROW_KIND) == count
        and words[2::step].tolist().count(sequence) == count
    )
    return length if alike else 0


def replies(conn: socket.socket, sequence: int) -> list[Batch]:
    """One dump's replies as received batches (see `Batch`). The whole dump is drained
    before anyone decodes a row, so the kernel's walk (which is not atomic) spans as
    little time as possible. An NLMSG_ERROR raises NetlinkUnavailable."""
    batches: list[Batch] = []
    smallest = NLMSGHDR.size + INET_DIAG_MSG.size
    while True:
        buffer = conn.recv(RECV_BUFFER)
        size = len(buffer)
        length = uniform_length(buffer, sequence)
        if length:
            batches.append((buffer, range(NLMSGHDR.size, size, length), length))
            continue
        offsets: list[int] = []
        batches.append((buffer, offsets, 0))
        for offset, length, kind, seq in messages(buffer):
            if seq == sequence:
                if kind == NLMSG_DONE:
                    return batches
                if kind == NLMSG_ERROR:
                    code = -NLMSGERR_CODE.unpack_from(buffer, offset + NLMSGHDR.size)[0]
                    if code:
                        reason = errno.errorcode.get(code, str(code))
                        raise NetlinkUnavailable(code, f"sock_diag: {reason}")
                elif length >= smallest:
                    offsets.append(offset + NLMSGHDR.size)


def messages(buffer: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(offset, length, type, sequence) of each netlink message in a received buffer;
    NetlinkUnavailable if a header's length does not fit the buffer."""
    size = len(buffer)
    header = NLMSGHDR.unpack_from
    offset = 0
    while offset + NLMSGHDR.size <= size:
        length, kind, _flags, seq, _pid = header(buffer, offset)
        if length < NLMSGHDR.size or offset + length > size:
            raise NetlinkUnavailable(errno.EPROTO, "malformed netlink reply")
        yield offset, length, kind, seq
        offset += (length + 3) & ~3


def open_diag_socket() -> socket.socket:
    """A NETLINK_SOCK_DIAG socket, bound for life to the network namespace of the thread
    that opens it."""
    try:
        return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    except (OSError, AttributeError) as exc:
        raise NetlinkUnavailable(errno.EAFNOSUPPORT, f"netlink socket: {exc}") from exc


@contextmanager
def diag_socket(given: socket.socket | None = None) -> Iterator[socket.socket]:
    """`given` (left open: it was opened in another namespace, to be reused), or a new
    socket closed afterwards; any refusal while it is in use becomes NetlinkUnavailable."""
    conn = given if given is not None else open_diag_socket()
    try:
        yield conn
    except NetlinkUnavailable:
        raise
    except OSError as exc:
        raise NetlinkUnavailable(exc.errno or errno.EIO, f"sock_diag: {exc}") from exc
    finally:
        if given is None:
            conn.close()


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


Fields = tuple[int, int, int, bytes, bytes, int, int, int, int, int]
"""An inet_diag_msg as unpacked: state, ports, addresses, interface, queues, uid, inode."""


def decode(fields: Fields, proto: Proto, family: Family) -> RawSocket:
    """One inet_diag_msg as a RawSocket, with the same conventions as /proc/net."""
    state, sport, dport, src, dst, interface, rqueue, wqueue, uid, inode = fields
    if proto == "tcp":
        name: str | None = STATE_NAMES.get(state, str(state))
        connected = state != TCP_LISTEN
    else:
        name = None
        connected = state == UDP_CONNECTED
    return RawSocket(
        proto,
        family,
        local_address(family, src, interface),
        ntohs(sport),
        format_ip(dst if family == "ipv6" else dst[:4]) if connected else None,
        ntohs(dport) if connected else None,
        name,
        inode,
        uid,
        rqueue,
        wqueue,
    )


class InfoPlaces:
    """Where the INET_DIAG_INFO attribute sits in each reply message, to cut its kept
    bytes out (`tcpinfo.KEPT_FROM` on).

    The kernel writes a message's attributes in a fixed order, so messages of one
    length share one layout: the place found by walking one message is reused for
    every other of that length in which the same INFO header sits exactly there (for a
    batch of alike rows, checked a column at a time as `uniform_length` does); any
    other message is walked.
    """

    def __init__(self) -> None:
        self._at: dict[int, Place] = {}
        """Message length -> where its INFO attribute was found."""

    def cut(self, buffer: bytes, offsets: Sequence[int], length: int) -> list[bytes | None]:
        """Each message's kept tcp_info bytes (None when it has none), in order."""
        if length and offsets:
            place = self._at.get(length) or self._walk(buffer, offsets[0])
            if place is not None and holds_column(buffer, offsets, length, place):
                start, end = place.kept
                return [buffer[offset + start : offset + end] for offset in offsets]
        return [self._one(buffer, offset) for offset in offsets]

    def _one(self, buffer: bytes, offset: int) -> bytes | None:
        length = FIRST_WORD.unpack_from(buffer, offset - NLMSGHDR.size)[0]
        place = self._at.get(length)
        if place is None or FIRST_WORD.unpack_from(buffer, offset + place.at)[0] != place.word:
            place = self._walk(buffer, offset)
            if place is None:
                return None
        start, end = place.kept
        return buffer[offset + start : offset + end]

    def _walk(self, buffer: bytes, offset: int) -> Place | None:
        """The INFO attribute of the message whose payload starts at `offset`, found by
        walking its attributes; remembered for its length."""
        length = FIRST_WORD.unpack_from(buffer, offset - NLMSGHDR.size)[0]
        end = offset - NLMSGHDR.size + length
        at = INET_DIAG_MSG.size
        while offset + at + NLA_HEADER.size <= end:
            size, kind = NLA_HEADER.unpack_from(buffer, offset + at)
            if size < NLA_HEADER.size or offset + at + size > end:
                return None
            if kind & NLA_TYPE_MASK == INET_DIAG_INFO:
                data = at + NLA_HEADER.size
                kept = (data + KEPT_FROM, data + KEPT_FROM + kept_length(size - NLA_HEADER.size))
                word = FIRST_WORD.unpack_from(buffer, offset + at)[0]
                place = self._at[length] = Place(at, word, kept)
                return place
            at += (size + 3) & ~3
        return None


class Place(NamedTuple):
    """Where a message's INFO attribute is: its header's offset in the payload, the
    header read as one word (length and type), and the kept bytes' span."""

    at: int
    word: int
    kept: tuple[int, int]


def holds_column(buffer: bytes, offsets: Sequence[int], length: int, place: Place) -> bool:
    """Whether every message of a batch of alike rows has `place`'s INFO header there."""
    column = (NLMSGHDR.size + place.at) // 4
    found = memoryview(buffer).cast("I")[column :: length // 4].tolist()
    return found.count(place.word) == len(offsets)


class SockDiagReader:
    """Dumps the socket table, reusing last dump's row for every socket whose bytes match.

    In steady state most sockets are unchanged between polls, so a row costs a slice
    and a dict lookup instead of a decode, and the same RawSocket object comes back
    (which lets the collector reuse what it built from it). A ticking timer's expiry is
    left out of the comparison, so it does not make a socket look changed.

    With `tcp_info` the TCP dumps also bring each socket's tcp_info, cut out of the
    reply as bytes beside the rows (`Table.infos`): its counters move with every
    segment, so they take no part in whether a row is reused.
    """

    def __init__(
        self,
        dumps: tuple[Dump, ...] = DUMPS,
        conn: socket.socket | None = None,
        *,
        tcp_info: bool = False,
    ) -> None:
        self.dumps = dumps
        self.conn = conn
        """A socket opened in another namespace (`nshandle`), reused every read; None:
        a new one in ours each read."""
        self.tcp_info = tcp_info
        """Whether the next read asks for tcp_info; may change between reads."""
        self._rows: list[dict[bytes, RawSocket]] = [{} for _ in dumps]
        self._places = InfoPlaces()

    def read(self, skip: Collection[int] = ()) -> Table:
        """Every inet socket in the socket's network namespace, but for the dumps (by
        index in `dumps`) in `skip`, which the caller knows to be empty;
        NetlinkUnavailable if refused."""
        table = Table([], set(), [] if self.tcp_info else None)
        with diag_socket(self.conn) as conn:
            for index, (family, protocol, proto, name) in enumerate(self.dumps):
                if index in skip:
                    self._rows[index] = {}
                    continue
                info = table.infos is not None and protocol == socket.IPPROTO_TCP
                wanted = WANT_INFO if info else 0
                conn.send(dump_request(family, protocol, index + 1, extensions=wanted))
                self._rows[index] = self._dump(conn, index, proto, name, table, info)
        table.inodes.discard(0)
        return table

    def _dump(
        self,
        conn: socket.socket,
        index: int,
        proto: Proto,
        family: Family,
        table: Table,
        info: bool,
    ) -> dict[bytes, RawSocket]:
        """One dump's rows into `table`; with `info`, their tcp_info into `table.infos`
        (rows of a dump that was not asked for it get None there)."""
        known = self._rows[index]
        seen: dict[bytes, RawSocket] = {}
        unpack = INET_DIAG_MSG.unpack_from
        rows, infos = table.rows, table.infos
        for buffer, offsets, length in replies(conn, index + 1):
            table.inodes.update(batch_inodes(buffer, offsets, length))
            if infos is not None:
                infos.extend(
                    self._places.cut(buffer, offsets, length) if info else [None] * len(offsets)
                )
            for offset in offsets:
                # Every byte decode reads (state to sockid; queues, uid, inode) but the
                # expiry countdown: two slices hash faster than an unpacked tuple.
                key = buffer[offset + 1 : offset + 52] + buffer[offset + 56 : offset + 72]
                row = known.get(key)
                if row is None:
                    row = decode(unpack(buffer, offset), proto, family)
                seen[key] = row
                rows.append(row)
        return seen


def batch_inodes(buffer: bytes, offsets: Sequence[int], length: int) -> list[int]:
    """The inode column of one batch: one strided C-level read when its rows are alike."""
    if length:
        column = (NLMSGHDR.size + INODE_AT) // 4
        return memoryview(buffer).cast("I")[column :: length // 4].tolist()
    return [INODE.unpack_from(buffer, offset)[0] for offset in offsets]


def live_inodes(dumps: tuple[Dump, ...] = DUMPS, conn: socket.socket | None = None) -> set[int]:
    """Just the inodes of every socket now (in `conn`'s namespace, if given): a recount
    for owner attribution, which needs no decoding. Sockets without an inode (TIME_WAIT,
    orphans) are left out."""
    inodes: set[int] = set()
    with diag_socket(conn) as diag:
        for index, (family, protocol, _proto, _name) in enumerate(dumps):
            diag.send(dump_request(family, protocol, index + 1, HOLDABLE_STATES))
            for batch in replies(diag, index + 1):
                inodes.update(batch_inodes(*batch))
    inodes.discard(0)
    return inodes


def find_sockets(
    conn: socket.socket, dump: Dump, wanted: Callable[[RawSocket], bool]
) -> list[tuple[RawSocket, bytes]]:
    """The sockets of one dump that `wanted` keeps, each with its kernel id (`SOCKID`)
    for a request about exactly that socket. NetlinkUnavailable if refused."""
    family, protocol, proto, name = dump
    conn.send(dump_request(family, protocol, 1))
    found = []
    for buffer, offsets, _length in replies(conn, 1):
        for offset in offsets:
            row = decode(INET_DIAG_MSG.unpack_from(buffer, offset), proto, name)
            if wanted(row):
                found.append((row, buffer[offset + SOCKID.start : offset + SOCKID.stop]))
    return found


def destroy_socket(conn: socket.socket, family: int, protocol: int, sockid: bytes) -> None:
    """Have the kernel close the socket `sockid` names now, as `ss -K` does: its holder
    sees the connection aborted and a TCP peer gets a reset. OSError with the kernel's
    errno when refused (EPERM without CAP_NET_ADMIN; EOPNOTSUPP without
    CONFIG_INET_DIAG_DESTROY; ENOENT or ESTALE when no socket has that id now)."""
    sequence = 2
    conn.send(destroy_request(family, protocol, sockid, sequence))
    code = acknowledgement(conn, sequence)
    if code:
        raise OSError(code, os.strerror(code))


def acknowledgement(conn: socket.socket, sequence: int) -> int:
    """The errno of the kernel's answer to request `sequence`; 0 when it was done."""
    while True:
        buffer = conn.recv(RECV_BUFFER)
        offset = 0
        while offset + NLMSGHDR.size <= len(buffer):
            length, kind, _flags, seq, _pid = NLMSGHDR.unpack_from(buffer, offset)
            if length < NLMSGHDR.size or offset + length > len(buffer):
                raise NetlinkUnavailable(errno.EPROTO, "malformed netlink reply")
            if seq == sequence and kind == NLMSG_ERROR and length >= NLMSGHDR.size + 4:
                return -NLMSGERR_CODE.unpack_from(buffer, offset + NLMSGHDR.size)[0]
            offset += (length + 3) & ~3


def read_sockets() -> list[RawSocket]:
    """One dump with nothing remembered: every inet socket in this network namespace."""
    return SockDiagReader().read().rows


INET_DIAG_INFO = 2
INET_DIAG_PROTOCOL = 10
ATTRIBUTE = struct.Struct("=HH")
TCP_INFO_BYTES = struct.Struct("=120xQQ")
"""tcp_info's tcpi_bytes_acked and tcpi_bytes_received (linux/tcp.h, Linux 4.1 and later)."""
FAMILIES: dict[int, Family] = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}
PROTOCOLS: dict[int, Proto] = {socket.IPPROTO_TCP: "tcp", socket.IPPROTO_UDP: "udp"}


class Ended(NamedTuple):
    """A socket as the kernel's destroy broadcast describes it, when it is freed.

    The kernel fills in the addresses, ports and state, but leaves the uid and inode of
    `socket` at 0: an ended socket names no owner. A TCP socket carries its final byte
    counts from tcp_info (None for UDP, which has none)."""

    socket: RawSocket
    bytes_acked: int | None
    bytes_received: int | None


def attributes(buffer: bytes, start: int, end: int) -> dict[int, tuple[int, int]]:
    """Where each netlink attribute's payload lies (start, end) between `start` and `end`."""
    found: dict[int, tuple[int, int]] = {}
    while start + ATTRIBUTE.size <= end:
        length, kind = ATTRIBUTE.unpack_from(buffer, start)
        if length < ATTRIBUTE.size or start + length > end:
            break
        found[kind & 0x3FFF] = (start + ATTRIBUTE.size, start + length)
        start += (length + 3) & ~3
    return found


def ended_sockets(buffer: bytes) -> list[Ended]:
    """The sockets in one received buffer of destroy broadcasts (the multicast groups
    `ss -E` joins): each an inet_diag_msg with the protocol and, for TCP, tcp_info
    attached. Anything that is not an inet socket's message is skipped."""
    ended: list[Ended] = []
    smallest = NLMSGHDR.size + INET_DIAG_MSG.size
    for offset, length, kind, _seq in messages(buffer):
        if kind != SOCK_DIAG_BY_FAMILY or length < smallest:
            continue
        body = offset + NLMSGHDR.size
        found = attributes(buffer, body + INET_DIAG_MSG.size, offset + length)
        family = FAMILIES.get(buffer[body])
        where = found.get(INET_DIAG_PROTOCOL)
        proto = PROTOCOLS.get(buffer[where[0]]) if where and where[1] > where[0] else None
        if family is None or proto is None:
            continue
        raw = decode(INET_DIAG_MSG.unpack_from(buffer, body), proto, family)
        info = found.get(INET_DIAG_INFO)
        if info is not None and info[1] - info[0] >= TCP_INFO_BYTES.size:
            acked, received = TCP_INFO_BYTES.unpack_from(buffer, info[0])
            ended.append(Ended(raw, acked, received))
        else:
            ended.append(Ended(raw, None, None))
    return ended
