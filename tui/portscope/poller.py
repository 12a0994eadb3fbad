"""The one shared poller: every pane, gauge and check is fed from this loop.

Each poll runs in a worker thread so the event loop never waits on /proc; the next
poll is scheduled only after the previous one finished, so a slow poll delays the
next instead of piling up behind it. A poll that raises is published as a `PollFailed`
(and logged with its traceback) and retried with backoff; a subscriber that raises is
logged and reported to `on_failure`. The loop itself never dies of either.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from portscope.delta import Delta, carry_index
from portscope.events import PollEvent, PollFailed, PollUpdate, describe_error
from portscope.failures import LOG, OnFailure, survived
from portscope.model import Snapshot

__all__ = ["PollEvent", "PollFailed", "PollUpdate", "Poller", "describe_error"]

DEFAULT_INTERVAL = 2.0
MIN_INTERVAL = 0.25
MAX_INTERVAL = 60.0
MAX_BACKOFF = 30.0


Subscriber = Callable[[PollEvent], None]


class Poller:
    """Runs `collect` every `interval` seconds in a thread and publishes the result.

    Subscribers are called on the event loop's thread, in subscription order; one
    that raises never stops the others: it is logged and handed to `on_failure`
    (called on the event loop's thread too).
    """

    def __init__(
        self,
        collect: Callable[[], Snapshot],
        interval: float = DEFAULT_INTERVAL,
        *,
        on_failure: OnFailure | None = None,
    ) -> None:
        self._collect = collect
        self._on_failure = on_failure
        self._interval = clamp_interval(interval)
        self._subscribers: list[Subscriber] = []
        self._wake = asyncio.Event()
        self._polling = asyncio.Lock()
        self._paused = False
        self._stopped = False
        self._failures = 0
        self._poll_requested = False
        self.sequence = 0
        self.latest: Snapshot | None = None
        self.last_event: PollEvent | None = None

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        """Takes effect at once: the current wait ends and the next poll starts now."""
        self._interval = clamp_interval(seconds)
        self._wake.set()

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def poll_now(self) -> None:
        """Poll as soon as possible, even while paused (one poll, then paused again)."""
        self._poll_requested = True
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Receive every PollEvent; the last one is replayed at once. Returns an unsubscribe."""
        self._subscribers.append(subscriber)
        if self.last_event is not None:
            subscriber(self.last_event)
        return lambda: self._subscribers.remove(subscriber)

    async def poll_once(self) -> PollEvent:
        """One poll in a worker thread, published to every subscriber.

        Calls that overlap wait their turn: the collector is never run twice at once.
        """
        async with self._polling:
            return await self._poll()

    def _collect_and_diff(self, previous: Snapshot | None) -> tuple[Snapshot, Delta]:
        """Both in the worker thread: the Delta is work the event loop (and the screen)
        should not wait for (BENCHMARKS.md, "Behind the code"). The new snapshot's index
        is the last one's, carried over, before the Delta reads it."""
        snapshot = self._collect()
        if previous is not None:
            carry_index(previous, snapshot)
        return snapshot, Delta.between(previous, snapshot)

    async def _poll(self) -> PollEvent:
        event: PollEvent
        try:
            snapshot, delta = await asyncio.to_thread(self._collect_and_diff, self.latest)
        except Exception as exc:
            self._failures += 1
            LOG.warning("poll failed (%d in a row)", self._failures, exc_info=exc)
            event = PollFailed(
                error=describe_error(exc),
                at=time.time(),
                consecutive=self._failures,
                retry_in=self._backoff(),
            )
        else:
            self._failures = 0
            self.sequence += 1
            event = PollUpdate(snapshot, delta, self.sequence)
            self.latest = snapshot
        self.last_event = event
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception as exc:
                survived(f"poll subscriber {subscriber_name(subscriber)}", exc, self._on_failure)
        return event

    def _backoff(self) -> float:
        if not self._failures:
            return self._interval
        return min(MAX_BACKOFF, self._interval * 2 ** (self._failures - 1))

    async def run(self) -> None:
        """Poll until stopped. A paused poller waits without polling until resumed."""
        while not self._stopped:
            if self._paused and not self._poll_requested:
                self._wake.clear()
                await self._wake.wait()
                continue
            self._poll_requested = False
            self._wake.clear()  # before the poll: a stop or poll_now during it must count
            await self.poll_once()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._backoff())


def subscriber_name(subscriber: Subscriber) -> str:
    """`HealthFeed.on_poll`: enough to find it, for the log and the notice."""
    return getattr(subscriber, "__qualname__", type(subscriber).__qualname__)


def clamp_interval(seconds: float) -> float:
    return max(MIN_INTERVAL, min(MAX_INTERVAL, float(seconds)))
