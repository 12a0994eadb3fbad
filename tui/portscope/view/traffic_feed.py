"""Feeds the shared Poller's snapshots to a TrafficTracker off the event loop
(`AnalysisFeed`). Rates come from consecutive polls by socket identity, not from the
Delta, so a gap in the polls is just one longer interval. No textual here.

The collector brings tcp_info only when asked (`Collector.tcp_info`): whoever shows
traffic switches it on, and off again when nothing on screen needs it.
"""

from __future__ import annotations

from collections.abc import Callable

from portscope.analysis import TrafficReport, TrafficThresholds, TrafficTracker
from portscope.failures import OnFailure
from portscope.poller import PollUpdate
from portscope.view.analysis_feed import AnalysisFeed


class TrafficFeed(AnalysisFeed[TrafficReport]):
    """A Poller subscriber: every successful poll's traffic, in order, on one thread."""

    def __init__(
        self,
        deliver: Callable[[TrafficReport], None],
        thresholds: TrafficThresholds | None = None,
        *,
        on_failure: OnFailure | None = None,
    ) -> None:
        self.tracker = TrafficTracker(thresholds)
        super().__init__(
            self._traffic,
            deliver,
            "the traffic analysis",
            "portscope-traffic",
            on_failure=on_failure,
        )

    @property
    def latest(self) -> TrafficReport | None:
        return self.tracker.latest

    def _traffic(self, event: PollUpdate, follows: bool) -> TrafficReport:
        return self.tracker.update(event.snapshot)
