"""The cyclic garbage collector held off while the dashboard starts.

Importing textual, building the screen and taking the first 20,000-socket poll
allocate hundreds of thousands of objects that all stay alive, so the collector's
passes over them find nothing, and at 20k sockets they are a real share of the start
(BENCHMARKS.md, "Behind the code"). Collection resumes once the first poll is on
screen. No textual here: the hold starts before it is imported.
"""

from __future__ import annotations

import gc


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
