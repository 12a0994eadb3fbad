"""Feeds the shared Poller's snapshots to a HealthTracker off the event loop.

A recount at 20k connections takes too long for the event loop, more so when every
connection has a destination of its own (BENCHMARKS.md, "Behind the code"), so it runs
on one dedicated thread: a single worker keeps the polls in order, which the CLOSE_WAIT
trends and following each Delta need. Reports come back through `deliver`, and an
analysis that raised through `on_failure` (logged first), both called on that thread
(the app posts them as messages). No textual here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from portscope.analysis import HealthReport, HealthTracker, Thresholds
from portscope.failures import OnFailure, survived
from portscope.poller import PollEvent, PollUpdate

Deliver = Callable[[HealthReport], None]


PRESSURE_ROWS = 1_000
"""The pressure view lists this many of the most pressed destinations."""


class HealthFeed:
    """A Poller subscriber: every successful poll is analysed, in order, on one thread."""

    def __init__(
        self,
        deliver: Deliver,
        thresholds: Thresholds | None = None,
        *,
        on_failure: OnFailure | None = None,
    ) -> None:
        self.tracker = HealthTracker(thresholds, pressure_limit=PRESSURE_ROWS, follow_deltas=True)
        self._deliver = deliver
        self._on_failure = on_failure
        self._sequence = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portscope-health")

    @property
    def latest(self) -> HealthReport | None:
        return self.tracker.latest

    def on_poll(self, event: PollEvent) -> None:
        if isinstance(event, PollUpdate):
            self._thread.submit(self._analyse, event)

    def _analyse(self, event: PollUpdate) -> None:
        """A poll right after the last one analysed follows its Delta; after a gap (a
        subscriber joins late and is replayed the last poll, or an analysis failed)
        everything is recounted. Nobody waits on this thread's futures, so a failure is
        reported here or never."""
        follows = event.sequence == self._sequence + 1
        self._sequence = event.sequence
        try:
            self._deliver(self.tracker.update(event.snapshot, event.delta if follows else None))
        except Exception as exc:
            self._sequence = 0
            survived("the health analysis", exc, self._on_failure)

    def close(self) -> None:
        """Drop analyses not yet started; the running one finishes on its own."""
        self._thread.shutdown(wait=False, cancel_futures=True)
