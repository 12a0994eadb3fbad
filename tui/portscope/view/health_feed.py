"""Feeds the shared Poller's snapshots to a HealthTracker off the event loop
(`AnalysisFeed`): a poll right after the last one analysed follows its Delta; after a
gap everything is recounted. No textual here.
"""

from __future__ import annotations

from collections.abc import Callable

from portscope.analysis import HealthReport, HealthTracker, Thresholds
from portscope.failures import OnFailure
from portscope.poller import PollUpdate
from portscope.view.analysis_feed import AnalysisFeed

Deliver = Callable[[HealthReport], None]


PRESSURE_ROWS = 1_000
"""The pressure view lists this many of the most pressed destinations."""


class HealthFeed(AnalysisFeed[HealthReport]):
    """A Poller subscriber: every successful poll's health, in order, on one thread."""

    def __init__(
        self,
        deliver: Deliver,
        thresholds: Thresholds | None = None,
        *,
        on_failure: OnFailure | None = None,
    ) -> None:
        self.tracker = HealthTracker(thresholds, pressure_limit=PRESSURE_ROWS, follow_deltas=True)
        super().__init__(
            self._health, deliver, "the health analysis", "portscope-health", on_failure=on_failure
        )

    @property
    def latest(self) -> HealthReport | None:
        return self.tracker.latest

    def _health(self, event: PollUpdate, follows: bool) -> HealthReport:
        return self.tracker.update(event.snapshot, event.delta if follows else None)
