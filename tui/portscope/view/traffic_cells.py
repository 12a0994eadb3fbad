"""What a connection's row says of its traffic: its rates, and its health flags in
short, from the latest `TrafficReport`. No textual here.

A row tells three cases apart, never by 0: a connection without counters (UDP, a
listener, TIME_WAIT: `—`), one with counters but no rate yet (seen in one poll only,
or before any report: `…`), and one that moved nothing (`0`).
"""

from __future__ import annotations

from dataclasses import dataclass

from portscope.analysis.levels import Level, worst
from portscope.analysis.tcp_health import FLAG_LEVEL, IDLE, Flag, Rate
from portscope.analysis.traffic import TrafficReport
from portscope.model import Socket

NO_COUNTERS = "—"
NO_RATE_YET = "…"
FLAG_WORDS: dict[Flag, tuple[str, str]] = {
    "retransmitting": ("retransmitting", "retx"),
    "rtt_high": ("RTT high", "rtt"),
    "receiver_limited": ("receiver-limited", "rwnd"),
    "sndbuf_limited": ("send-buffer-limited", "sndbuf"),
    "network_limited": ("network-limited", "cwnd"),
}
"""Each flag as a row's marker says it: long, and short for a narrow column."""
UNCOUNTED_STATES = frozenset({"TIME_WAIT", "SYN_RECV"})
"""TCP states the kernel keeps no tcp_info for (`analysis.traffic.counters_missing`)."""


@dataclass(frozen=True, slots=True)
class RowTraffic:
    """A connection's traffic as its row shows it: its rate over the last interval
    (None: no rate yet) and its flags; `missing` when it has no counters at all."""

    rate: Rate | None = None
    flags: tuple[Flag, ...] = ()
    missing: bool = False

    @property
    def steady(self) -> bool:
        """Whether the next report can change it only by moving data (or ending)."""
        return self.missing or (self.rate == IDLE and not self.flags)

    @property
    def level(self) -> Level:
        return worst(FLAG_LEVEL[flag] for flag in self.flags)


NOT_YET = RowTraffic()
UNCOUNTED = RowTraffic(missing=True)


def row_traffic(sock: Socket, report: TrafficReport | None) -> RowTraffic:
    """`sock`'s traffic in `report` (a socket of its snapshot or of a later one); no
    rate yet for a connection the report has not seen. A socket in a state without
    counters has none, though the report saw it before (TIME_WAIT after ESTABLISHED)."""
    if sock.proto != "tcp" or sock.is_listener or sock.state in UNCOUNTED_STATES:
        return UNCOUNTED
    if report is not None:
        reading = report.reading(sock)  # without a record: most rows are of its snapshot
        if reading is not None:
            _info, rate, _limits, flags = reading
            return RowTraffic(rate, flags)
        found = report.connection(sock)
        if found is not None:
            return RowTraffic(found.rate, found.flags)
    return NOT_YET


def rate_text(per_second: float) -> str:
    """`0`, `512`, `12.3K`, `456K`, `7.8M`: bytes a second in at most five cells."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if per_second >= scale:
            value = per_second / scale
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return f"{per_second:.0f}"


def received_cell(traffic: RowTraffic) -> str:
    return _cell(traffic, received=True)


def sent_cell(traffic: RowTraffic) -> str:
    return _cell(traffic, received=False)


def _cell(traffic: RowTraffic, *, received: bool) -> str:
    if traffic.missing:
        return NO_COUNTERS
    if traffic.rate is None:
        return NO_RATE_YET
    return rate_text(traffic.rate.received if received else traffic.rate.sent)


def received_order(traffic: RowTraffic) -> int:
    """Bytes a second; a connection with no rate yet below an idle one, one without
    counters below both."""
    return _order(traffic, received=True)


def sent_order(traffic: RowTraffic) -> int:
    return _order(traffic, received=False)


def _order(traffic: RowTraffic, *, received: bool) -> int:
    if traffic.missing:
        return -2
    if traffic.rate is None:
        return -1
    return round(traffic.rate.received if received else traffic.rate.sent)


def flag_marker(traffic: RowTraffic) -> tuple[str, str]:
    """The marker a row's process cell ends with for its flags, long and short
    (`view.rows.marked`); empty without any."""
    if not traffic.flags:
        return ("", "")
    long = ", ".join(FLAG_WORDS[flag][0] for flag in traffic.flags)
    short = ",".join(FLAG_WORDS[flag][1] for flag in traffic.flags)
    sign = "▲" if traffic.level != "ok" else "·"
    return (f" {sign} {long}", f" {sign} {short}")
