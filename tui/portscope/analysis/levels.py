"""Severity levels and the thresholds that set them, shared by every health figure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["ok", "warning", "critical"]
SEVERITY: dict[Level, int] = {"ok": 0, "warning": 1, "critical": 2}
MAX_PERCENT = 100.0
"""Thresholds are percentages above 0 and at most this."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a figure turns warning or critical.

    `warning`/`critical` are percentages of a budget: ephemeral ports per destination
    and accept-queue slots per listener. A process's CLOSE_WAIT count that rises by
    at least `close_wait_growth` to a new high is a warning, and critical once it
    reaches `close_wait_critical`. Connections dropped at listeners between two polls
    (the kernel's ListenDrops) warn from `listen_drops_warning` and are critical from
    `listen_drops_critical`; the conntrack table's fill has percentages of its own.
    """

    warning: float = 70.0
    critical: float = 90.0
    close_wait_critical: int = 100
    close_wait_growth: int = 1
    listen_drops_warning: int = 1
    listen_drops_critical: int = 100
    conntrack_warning: float = 75.0
    conntrack_critical: float = 90.0

    def __post_init__(self) -> None:
        if not 0 < self.warning <= self.critical <= MAX_PERCENT:
            raise ValueError(
                f"thresholds must satisfy 0 < warning <= critical <= {MAX_PERCENT:g} "
                f"(got warning {self.warning:g}, critical {self.critical:g})"
            )
        if self.close_wait_critical < 1 or self.close_wait_growth < 1:
            raise ValueError("CLOSE_WAIT counts must be at least 1")
        if not 1 <= self.listen_drops_warning <= self.listen_drops_critical:
            raise ValueError(
                "listen drop thresholds must satisfy 1 <= warning <= critical "
                f"(got warning {self.listen_drops_warning}, "
                f"critical {self.listen_drops_critical})"
            )
        if not 0 < self.conntrack_warning <= self.conntrack_critical <= MAX_PERCENT:
            raise ValueError(
                f"conntrack thresholds must satisfy 0 < warning <= critical <= {MAX_PERCENT:g} "
                f"(got warning {self.conntrack_warning:g}, "
                f"critical {self.conntrack_critical:g})"
            )

    def level(self, percent: float) -> Level:
        return above(percent, self.warning, self.critical)


def above(value: float, warning: float, critical: float) -> Level:
    """critical from `critical` on, warning from `warning` on, else ok."""
    if value >= critical:
        return "critical"
    return "warning" if value >= warning else "ok"


def worst(levels: Iterable[Level]) -> Level:
    """The most severe of `levels`; ok when there are none."""
    return max(levels, key=SEVERITY.__getitem__, default="ok")


def percent_of(used: int, budget: int) -> float:
    """`used` as a percentage of `budget`; a spent or empty budget counts as full."""
    return 100.0 if budget <= 0 else 100.0 * used / budget


def percent_label(percent: float) -> str:
    """`89.6%`, `100%`: one decimal, none when it is zero."""
    return f"{percent:.1f}".removesuffix(".0") + "%"
