"""The dashboard process from start to end: what happens once, in one place.

Before textual is imported (`begin`): the first collect starts, so it runs alongside
the imports, and the cyclic garbage collector is held. Importing textual, building the
screen and taking the first 20,000-socket poll allocate hundreds of thousands of
objects that all stay alive, so its passes over them find nothing, and at 20k sockets
they are a real share of the start (BENCHMARKS.md, "Behind the code").

Once the first poll is on screen (`Lifecycle.on_screen`): what lives as long as the app
(the UI, the registry, the first poll's sockets and rows) is frozen out of collections,
then collection resumes, its full collections (walking every live object) waiting ten
times as long as Python's default. Young cyclic garbage is collected as usual.

While it runs (`Lifecycle.start`, `Lifecycle.end`): losing the terminal (SIGHUP) or a
plain kill (SIGTERM) exits, whatever state the event loop is in.

No textual here: `begin` runs before it is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from portscope.view.prefetch import Prefetched, start_collect

GC_THRESHOLDS = (700, 10, 100)
"""Python's defaults but for full collections, which wait ten times as long."""
EXIT_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
EXIT_GRACE = 3.0
"""Seconds a signalled dashboard has to exit cleanly before the watchdog ends it."""


class StartupHold:
    """Pauses collection once, and resumes it only if this hold was what paused it."""

    def __init__(self) -> None:
        self.holding = False

    def hold(self) -> None:
        if gc.isenabled():
            gc.disable()
            self.holding = True

    def release(self) -> None:
        if self.holding:
            self.holding = False
            gc.enable()


STARTUP = StartupHold()


def begin() -> Prefetched:
    """`portscope` with no command, before the UI is imported: collection held until
    the first poll is on screen, and the real collector's first snapshot under way."""
    gc.set_threshold(*GC_THRESHOLDS)
    STARTUP.hold()
    return start_collect()


class Lifecycle:
    """One dashboard's start and end; `freeze`: once its first poll is on screen (the
    `portscope` process asks for it; tests, sharing one interpreter, do not)."""

    def __init__(self, freeze: bool = False) -> None:
        self._freeze = freeze
        self._previous: dict[int, Any] = {}

    def start(self, exit: Callable[[int], object]) -> None:
        """SIGHUP and SIGTERM call `exit(0)` on the running event loop.

        The handler is a plain signal handler, not the loop's: a dashboard whose terminal
        vanished (tests/test_ui_terminal.py does that to it) blocked its main thread on
        Textual's output queue (the writer thread had died on the dead terminal), so a
        loop-scheduled exit never ran and the process stayed, spinning its input thread.
        A clean exit is asked of the loop first; if it has not happened within
        EXIT_GRACE seconds, a watchdog thread ends the process.
        """
        loop = asyncio.get_running_loop()

        def on_signal(signum: int, frame: object) -> None:
            loop.call_soon_threadsafe(exit, 0)
            threading.Thread(target=exit_after, args=(EXIT_GRACE,), daemon=True).start()

        for sig in EXIT_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                self._previous[sig] = signal.signal(sig, on_signal)

    def on_screen(self, polled: bool) -> None:
        """After the frame of each poll, good or failed (`polled`: a snapshot is on
        screen, every pane filled): the first one ends the start-up hold, the first
        good one freezes what lives as long as the app, before collection resumes."""
        if polled and self._freeze:
            self._freeze = False
            gc.freeze()
        STARTUP.release()

    def end(self) -> None:
        """The signal handlers there were before `start`."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def exit_after(seconds: float) -> None:
    """Last resort for a dashboard that cannot finish exiting: end the process."""
    time.sleep(seconds)
    os._exit(0)
