"""Feeds the shared Poller's snapshots to one analysis off the event loop.

An analysis of 20k connections takes too long for the event loop, more so when every
connection has a destination of its own (BENCHMARKS.md, "Behind the code"), so each
runs on one dedicated thread: a single worker keeps the polls in order, which trends,
rates and following each Delta need. Results come back through `deliver`, and an
analysis that raised through `on_failure` (logged first), both called on that thread
(the app posts them as messages). No textual here.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from portscope.failures import OnFailure, survived
from portscope.poller import PollEvent, PollUpdate

R = TypeVar("R")
Analyse = Callable[[PollUpdate, bool], R]
"""One poll analysed, told whether it follows the last one analysed (False after a
gap: a subscriber replayed the last poll, or the analysis before it failed)."""


class AnalysisFeed(Generic[R]):
    """A Poller subscriber: every successful poll is analysed, in order, on one thread
    named after `what` (also what a failure names)."""

    def __init__(
        self,
        analyse: Analyse[R],
        deliver: Callable[[R], None],
        what: str,
        thread: str,
        *,
        on_failure: OnFailure | None = None,
    ) -> None:
        self._analyse_poll = analyse
        self._deliver = deliver
        self._what = what
        self._on_failure = on_failure
        self._sequence = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread)

    def on_poll(self, event: PollEvent) -> None:
        if isinstance(event, PollUpdate):
            self._thread.submit(self._analyse, event)

    def _analyse(self, event: PollUpdate) -> None:
        """Nobody waits on this thread's futures, so a failure is reported here or
        never; the poll after it counts as one after a gap."""
        follows = event.sequence == self._sequence + 1
        self._sequence = event.sequence
        try:
            self._deliver(self._analyse_poll(event, follows))
        except Exception as exc:
            self._sequence = 0
            survived(self._what, exc, self._on_failure)

    def close(self) -> None:
        """Drop analyses not yet started; the running one finishes on its own."""
        self._thread.shutdown(wait=False, cancel_futures=True)
