"""An event loop whose clock jumps over idle waits, for tests of code that waits on timers.

When the loop has nothing to do but wait for its next timer, its clock moves straight
to that timer instead of sleeping: an hour of `asyncio.sleep` or a poller's interval
costs no real time, and a test can say "a paused poller makes no calls in a thousand
intervals" without sleeping through them. While a worker thread from
`run_in_executor` (and so `asyncio.to_thread`) is busy, the clock runs in real time,
so a timer never fires early just because a thread is slow to answer. Thread work
the loop is not told about (a bare `call_soon_threadsafe` from a thread of one's own)
is not waited for: keep such tests on the ordinary loop.
"""

from __future__ import annotations

import asyncio
import functools
import selectors
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class IdleSkippingSelector(selectors.DefaultSelector):
    """Answers an idle wait at once and tells the loop how far to move its clock."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped = 0.0
        self.threads_busy = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout <= 0 or self.threads_busy:
            return super().select(timeout)
        ready = super().select(0)
        if not ready:
            self.skipped += timeout
        return ready


class FastForwardLoop(asyncio.SelectorEventLoop):
    """A selector event loop on a clock that skips the time it would spend idle."""

    def __init__(self) -> None:
        self._idle = IdleSkippingSelector()
        super().__init__(self._idle)

    def time(self) -> float:
        return time.monotonic() + self._idle.skipped

    def run_in_executor(
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._idle.threads_busy += 1
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _future: asyncio.Future[Any]) -> None:
        self._idle.threads_busy -= 1


def on_fast_clock(test: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async test on a `FastForwardLoop` of its own instead of pytest-asyncio's."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        loop = FastForwardLoop()
        try:
            loop.run_until_complete(test(*args, **kwargs))
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    return run
