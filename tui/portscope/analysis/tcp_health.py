"""One TCP connection between two tcp_info readings: how fast it moved data, what held
it back, and the health flags a row shows for it.

Flags: retransmissions rising (a share of the segments sent in the interval were
resent), RTT far above the connection's own minimum (queues building on its path),
and limited by the receiver's window, the send buffer or the network (the congestion
window) when one of them held it for most of the interval. The kernel's chrono
counters (`busy_time`, `rwnd_limited`, `sndbuf_limited`) are kept in jiffies, so
shares are only as fine as the kernel's tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from portscope.analysis.levels import MAX_PERCENT, Level
from portscope.tcpinfo import TcpInfo

Flag = Literal[
    "retransmitting", "rtt_high", "receiver_limited", "sndbuf_limited", "network_limited"
]
FLAG_LEVEL: dict[Flag, Level] = {
    "retransmitting": "warning",
    "rtt_high": "warning",
    "receiver_limited": "warning",
    "sndbuf_limited": "warning",
    "network_limited": "ok",
}
"""A connection that fills the path is healthy; the others say something is wrong."""
WRAP = 1 << 32
"""Segment counters are 32 bits and wrap on a long, busy connection."""
MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class TrafficThresholds:
    """When a connection is flagged.

    `retransmit_percent`: of the segments sent in the interval, the share resent.
    `rtt_factor` and `rtt_excess_ms`: the smoothed RTT is at least that many times the
    connection's own minimum and at least that many milliseconds above it (both, so a
    loopback connection's microseconds are not flagged). `limited_percent`: the share
    of the interval one limit must hold.
    """

    retransmit_percent: float = 1.0
    rtt_factor: float = 4.0
    rtt_excess_ms: float = 10.0
    limited_percent: float = 50.0

    def __post_init__(self) -> None:
        for percent in (self.retransmit_percent, self.limited_percent):
            if not 0 < percent <= MAX_PERCENT:
                raise ValueError(f"a percentage must be above 0 and at most 100 (got {percent:g})")
        if self.rtt_factor < 1 or self.rtt_excess_ms < 0:
            raise ValueError("the RTT factor must be at least 1 and its excess not negative")


class Rate(NamedTuple):
    """Bytes and segments a second over one interval; `sent` is what the peer
    acknowledged, `segments_sent` counts the `retransmits` too."""

    received: float
    sent: float
    segments_sent: float
    retransmits: float

    @property
    def total(self) -> float:
        return self.received + self.sent

    @property
    def retransmit_percent(self) -> float | None:
        """Of the segments sent, the share resent; None when nothing was sent."""
        return 100.0 * self.retransmits / self.segments_sent if self.segments_sent else None


IDLE = Rate(0.0, 0.0, 0.0, 0.0)


class Limits(NamedTuple):
    """Shares (0 to 1) of one interval that the connection had data to send and was
    held back by the network (its congestion window), the receiver's window or its
    own send buffer."""

    network: float
    receiver: float
    sndbuf: float

    def dominant(self) -> tuple[Flag, float]:
        """The limit that held it longest, and its share."""
        return max(
            (("network_limited", self.network), ("receiver_limited", self.receiver),
             ("sndbuf_limited", self.sndbuf)),
            key=lambda pair: pair[1],
        )  # fmt: skip


UNLIMITED = Limits(0.0, 0.0, 0.0)


def counters_went_back(was: TcpInfo, now: TcpInfo) -> bool:
    """Whether `now` cannot follow `was` on one socket: a 64-bit byte count fell."""
    return any(
        before is not None and after is not None and after < before
        for before, after in ((was.bytes_acked, now.bytes_acked),
                              (was.bytes_received, now.bytes_received))
    )  # fmt: skip


def rate_between(was: TcpInfo, now: TcpInfo, seconds: float) -> Rate | None:
    """What moved between two readings of one socket, a second; None when this kernel
    has no byte and segment counters (before Linux 4.2)."""
    if (
        was.bytes_acked is None
        or was.bytes_received is None
        or was.segs_out is None
        or now.bytes_acked is None
        or now.bytes_received is None
        or now.segs_out is None
    ):
        return None
    retransmits = ((now.total_retrans or 0) - (was.total_retrans or 0)) % WRAP
    return Rate(
        (now.bytes_received - was.bytes_received) / seconds,
        (now.bytes_acked - was.bytes_acked) / seconds,
        ((now.segs_out - was.segs_out) % WRAP) / seconds,
        retransmits / seconds,
    )


def limits_between(was: TcpInfo, now: TcpInfo, seconds: float) -> Limits | None:
    """Shares of the interval spent limited; None before Linux 4.10, which has no such
    counters. A counter that fell (its 32-bit jiffies wrapped) counts as nothing."""
    spans = [
        None if before is None or after is None else max(0, after - before)
        for before, after in ((was.busy_time, now.busy_time),
                              (was.rwnd_limited, now.rwnd_limited),
                              (was.sndbuf_limited, now.sndbuf_limited))
    ]  # fmt: skip
    busy, receiver, sndbuf = spans
    if busy is None or receiver is None or sndbuf is None:
        return None
    whole = seconds * MICROS
    return Limits(
        min(1.0, max(0, busy - receiver - sndbuf) / whole),
        min(1.0, receiver / whole),
        min(1.0, sndbuf / whole),
    )


def rtt_high(info: TcpInfo, thresholds: TrafficThresholds) -> bool:
    rtt, floor = info.rtt, info.min_rtt
    if rtt is None or not floor:
        return False
    return rtt >= thresholds.rtt_factor * floor and rtt - floor >= thresholds.rtt_excess_ms * 1000


def standing_flags(info: TcpInfo, thresholds: TrafficThresholds) -> tuple[Flag, ...]:
    """Flags one reading shows on its own."""
    return ("rtt_high",) if rtt_high(info, thresholds) else ()


def judge(
    info: TcpInfo, rate: Rate | None, limits: Limits | None, thresholds: TrafficThresholds
) -> tuple[Flag, ...]:
    """Every flag of a connection at a reading, given what moved since the last one."""
    flags: list[Flag] = []
    if rate is not None and rate.retransmits:
        share = rate.retransmit_percent
        if share is None or share >= thresholds.retransmit_percent:
            flags.append("retransmitting")
    flags.extend(standing_flags(info, thresholds))
    if limits is not None:
        limit, share = limits.dominant()
        if share * 100 >= thresholds.limited_percent:
            flags.append(limit)
    return tuple(flags)


def duration_label(micros: int | None) -> str:
    """`35 µs`, `400.9 ms`: a tcp_info time in the unit that shows it."""
    if micros is None:
        return "unknown"
    return f"{micros} µs" if micros < 1000 else f"{micros / 1000:.1f} ms"


def explain(flag: Flag, info: TcpInfo, rate: Rate | None, limits: Limits | None) -> str:
    """One plain sentence saying what a flag means for this connection, with its figures."""
    if flag == "retransmitting":
        share = rate.retransmit_percent if rate is not None else None
        resent = f"{share:.1f}% of" if share is not None else "some of"
        return (
            f"retransmissions rising: {resent} the segments sent in the last interval were resent"
        )
    if flag == "rtt_high":
        return (
            f"RTT {duration_label(info.rtt)}, far above this connection's own minimum of "
            f"{duration_label(info.min_rtt)}: a queue is building on its path"
        )
    held = limits or UNLIMITED
    share, cause = {
        "receiver_limited": (held.receiver, "waiting on the receiver's window (it is not reading)"),
        "sndbuf_limited": (held.sndbuf, "limited by its own send buffer"),
        "network_limited": (held.network, "sending as fast as the network takes it"),
    }[flag]
    return f"{cause} for {share:.0%} of the last interval"
