"""Retransmission rate per destination, for `portscope check`: of the segments this
host's connections sent a destination in the last interval, the share they resent.

A share needs two polls; a destination that sent nothing in the interval has none,
and one whose every segment sent was a retransmission (a peer gone silent) has 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass

from portscope.analysis.levels import Level
from portscope.analysis.tcp_health import Rate
from portscope.analysis.traffic import DestinationKey, TrafficReport


@dataclass(frozen=True, slots=True)
class RetransmitLimits:
    """The shares (percent of segments sent) that warn and that are critical; either
    may be off (None)."""

    warning: float | None = None
    critical: float | None = None

    def __post_init__(self) -> None:
        if self.warning is not None and self.critical is not None and self.warning > self.critical:
            raise ValueError(
                f"the retransmission warning ({self.warning:g}%) must not be above the "
                f"critical share ({self.critical:g}%)"
            )

    @property
    def enabled(self) -> bool:
        return self.warning is not None or self.critical is not None

    def level(self, percent: float) -> Level:
        if self.critical is not None and percent >= self.critical:
            return "critical"
        return "warning" if self.warning is not None and percent >= self.warning else "ok"


@dataclass(frozen=True, slots=True)
class RetransmitRate:
    """One destination's retransmissions in the last interval (`seconds` long)."""

    destination: DestinationKey
    rate: Rate
    percent: float
    seconds: float
    level: Level


def retransmit_rates(report: TrafficReport, limits: RetransmitLimits) -> list[RetransmitRate]:
    """Every destination that resent anything in the last interval, highest share
    first; empty after a single poll."""
    seconds = report.interval
    if seconds is None:
        return []
    found = []
    for key, rate in report.rates("destinations").items():
        percent = rate.retransmit_percent
        if rate.retransmits and percent is not None:
            found.append(RetransmitRate(key, rate, percent, seconds, limits.level(percent)))
    found.sort(key=lambda r: (-r.percent, r.destination))
    return found
