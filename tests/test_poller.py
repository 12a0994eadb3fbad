"""The shared poller: worker-thread polls, no pile-up, failures survived, pause and interval.

The collect functions here are stand-ins for the collector (which has its own tests);
the poller they drive is the real one. Waits are bounded so a hang fails instead of
stalling the suite; nothing asserts how long anything took. Tests of what happens over
many intervals run on a clock that skips idle waits (`fast_clock`), so they count the
poller's calls over a thousand intervals without waiting for them; tests of what must
not wait out an interval stay on the real clock, where waiting it out would fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from fast_clock import on_fast_clock
from portscope.failures import Failure
from portscope.model import EphemeralRange, Snapshot, Socket
from portscope.poller import MIN_INTERVAL, Poller, PollEvent, PollFailed, PollUpdate

PATIENCE = 10.0
"""Longest wait for something that should happen; only a broken poller reaches it."""
IDLE_INTERVALS = 1000
"""Intervals a paused poller sits through on the fast clock: each one it polled in would
show up as a call."""


def snapshot_with(*ports: int) -> Snapshot:
    listeners = tuple(Socket("tcp", "ipv4", "127.0.0.1", port, state="LISTEN") for port in ports)
    return Snapshot(
        taken_at=time.time(),
        host="test",
        privileged=False,
        ephemeral_range=EphemeralRange(32768, 60999),
        listeners=listeners,
        connections=(),
    )


class Recorder:
    """A subscriber that lets a test await the next event."""

    def __init__(self) -> None:
        self.events: list[PollEvent] = []
        self._queue: asyncio.Queue[PollEvent] = asyncio.Queue()

    def __call__(self, event: PollEvent) -> None:
        self.events.append(event)
        self._queue.put_nowait(event)

    async def next(self) -> PollEvent:
        return await asyncio.wait_for(self._queue.get(), PATIENCE)


class Counting:
    """A collect function that counts its calls and how many ran at once."""

    def __init__(self, work: Callable[[int], Snapshot] | None = None) -> None:
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()
        self._work = work or (lambda call: snapshot_with(1000 + call))

    def __call__(self) -> Snapshot:
        with self._lock:
            self.calls += 1
            call = self.calls
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.threads.add(threading.get_ident())
        try:
            return self._work(call)
        finally:
            with self._lock:
                self.running -= 1


def subscribed(collect: Callable[[], Snapshot], interval: float = 2.0) -> tuple[Poller, Recorder]:
    """A poller with a recorder already listening."""
    poller = Poller(collect, interval=interval)
    record = Recorder()
    poller.subscribe(record)
    return poller, record


@contextlib.asynccontextmanager
async def running(poller: Poller) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(poller.run())
    try:
        yield task
    finally:
        poller.stop()
        await asyncio.wait_for(task, PATIENCE)


@on_fast_clock
async def test_each_poll_publishes_snapshot_and_delta() -> None:
    snapshots = iter([snapshot_with(1, 2), snapshot_with(2, 3), snapshot_with(2, 3)])
    poller, record = subscribed(lambda: next(snapshots), interval=MIN_INTERVAL)
    async with running(poller):
        first, second, third = [await record.next() for _ in range(3)]
    assert isinstance(first, PollUpdate) and first.sequence == 1
    assert {s.local_port for s in first.delta.added} == {1, 2}
    assert isinstance(second, PollUpdate)
    assert {s.local_port for s in second.delta.added} == {3}
    assert {s.local_port for s in second.delta.removed} == {1}
    assert isinstance(third, PollUpdate) and third.delta.empty
    assert poller.latest is third.snapshot


async def test_poll_runs_in_a_worker_thread_and_the_loop_stays_free() -> None:
    """The collect call waits for the event loop to do something; on the loop's own
    thread it would wait in vain."""
    loop_ran = threading.Event()

    def collect(call: int) -> Snapshot:
        assert loop_ran.wait(PATIENCE), "the event loop was blocked during the poll"
        return snapshot_with(call)

    counting = Counting(collect)
    poller = Poller(counting)
    poll = asyncio.create_task(poller.poll_once())
    await asyncio.sleep(0)
    loop_ran.set()
    event = await asyncio.wait_for(poll, PATIENCE)
    assert isinstance(event, PollUpdate)
    assert threading.get_ident() not in counting.threads


@on_fast_clock
async def test_failed_poll_is_published_backs_off_and_recovers(log_file: Path) -> None:
    def collect(call: int) -> Snapshot:
        if call <= 3:
            raise OSError(f"/proc/net/tcp: boom {call}\nsecond line")
        return snapshot_with(call)

    poller, record = subscribed(Counting(collect), interval=MIN_INTERVAL)
    async with running(poller) as task:
        failures = [await record.next() for _ in range(3)]
        recovered = await record.next()
        assert not task.done()
    assert all(isinstance(f, PollFailed) for f in failures)
    assert [f.consecutive for f in failures] == [1, 2, 3]  # type: ignore[union-attr]
    waits = [f.retry_in for f in failures]  # type: ignore[union-attr]
    assert waits == sorted(waits) and waits[0] < waits[-1]
    assert failures[0].error == "OSError: /proc/net/tcp: boom 1"  # type: ignore[union-attr]
    assert isinstance(recovered, PollUpdate) and recovered.sequence == 1
    log = log_file.read_text()
    assert "WARNING poll failed (3 in a row)" in log
    assert "Traceback (most recent call last)" in log and "OSError: /proc/net/tcp: boom 3" in log


async def test_subscriber_that_raises_does_not_stop_the_others(log_file: Path) -> None:
    """It is logged with its traceback, and reported to `on_failure` in one line."""
    reported: list[Failure] = []
    poller = Poller(Counting(), on_failure=reported.append)
    record = Recorder()

    def broken(event: PollEvent) -> None:
        raise RuntimeError("subscriber bug\nsecond line")

    poller.subscribe(broken)
    unsubscribe = poller.subscribe(record)
    await poller.poll_once()
    assert len(record.events) == 1
    where = "poll subscriber test_subscriber_that_raises_does_not_stop_the_others.<locals>.broken"
    assert reported == [Failure(where, "RuntimeError: subscriber bug")]
    log = log_file.read_text()
    assert f"ERROR {where} failed: RuntimeError: subscriber bug" in log
    assert 'raise RuntimeError("subscriber bug\\nsecond line")' in log, "with its traceback"
    late = Recorder()
    poller.subscribe(late)
    assert late.events == record.events, "a late subscriber gets the last event at once"
    unsubscribe()
    await poller.poll_once()
    assert len(record.events) == 1 and len(late.events) == 2


@on_fast_clock
async def test_a_paused_poller_makes_no_calls_until_resumed_or_asked() -> None:
    """A thousand intervals go by on the fast clock: a paused poller that polled on its
    own would have made a thousand calls."""
    counting = Counting()
    poller, record = subscribed(counting, interval=MIN_INTERVAL)
    async with running(poller):
        await record.next()
        poller.pause()
        await asyncio.sleep(MIN_INTERVAL * IDLE_INTERVALS)
        assert counting.calls == 1, "a paused poller polled on its own"
        poller.poll_now()
        asked = await record.next()
        assert isinstance(asked, PollUpdate) and poller.paused
        await asyncio.sleep(MIN_INTERVAL * IDLE_INTERVALS)
        assert counting.calls == 2, "poll_now while paused polls exactly once"
        poller.resume()
        await record.next()
        await record.next()
    assert counting.calls >= 4


async def test_interval_change_takes_effect_at_once() -> None:
    """A 60 s poller sped up to the minimum polls again without waiting out the minute."""
    poller, record = subscribed(Counting(), interval=60)
    async with running(poller):
        await record.next()
        poller.interval = MIN_INTERVAL
        assert poller.interval == MIN_INTERVAL
        await record.next()
        await record.next()
    poller.interval = 10_000
    assert poller.interval == 60.0, "intervals are clamped"


async def test_polls_asked_for_during_a_poll_never_overlap_it() -> None:
    """poll_now and direct poll_once calls from other tasks, all made while the first
    poll is held inside the collect function: it still never runs twice at once."""
    loop = asyncio.get_running_loop()
    first_started = asyncio.Event()
    release = threading.Event()

    def collect(call: int) -> Snapshot:
        if call == 1:
            loop.call_soon_threadsafe(first_started.set)
            assert release.wait(PATIENCE), "the test never released the first poll"
        return snapshot_with(call)

    counting = Counting(collect)
    poller, record = subscribed(counting, interval=MIN_INTERVAL)
    async with running(poller):
        await asyncio.wait_for(first_started.wait(), PATIENCE)
        poller.poll_now()
        extra = [asyncio.create_task(poller.poll_once()) for _ in range(3)]
        await asyncio.sleep(0)  # the extra polls start and queue behind the first
        release.set()
        await asyncio.wait_for(asyncio.gather(*extra), PATIENCE)
        events = [await record.next() for _ in range(5)]
    assert all(isinstance(e, PollUpdate) for e in events)
    assert counting.calls >= 5
    assert counting.most_at_once == 1


@pytest.mark.parametrize("when", ["during a poll", "while waiting"])
async def test_stop_ends_the_loop_promptly(when: str) -> None:
    """Stopping must not wait out a long interval, even when it lands mid-poll."""
    release = threading.Event()
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def collect(call: int) -> Snapshot:
        loop.call_soon_threadsafe(started.set)
        if call == 1 and when == "during a poll":
            release.wait(PATIENCE)
        return snapshot_with(call)

    poller, record = subscribed(Counting(collect), interval=60)
    task = asyncio.create_task(poller.run())
    await asyncio.wait_for(started.wait(), PATIENCE)
    if when == "while waiting":
        await record.next()  # the first poll is out: the loop now waits out its minute
    poller.stop()
    release.set()
    await asyncio.wait_for(task, PATIENCE)
