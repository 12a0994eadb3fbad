"""The polls a command takes: one, or two `interval` seconds apart, so that what
needs a trend or a rate (check's CLOSE_WAIT growth, traffic rates) has one."""

from __future__ import annotations

import time
from collections.abc import Callable

from portscope.collect import Collector
from portscope.model import Snapshot


def poll_twice(
    collector: Collector, interval: float, first: Callable[[Snapshot], object]
) -> Snapshot:
    """The last of one poll, or (with an interval) of two that far apart, the first of
    which is handed to `first`."""
    snapshot = collector.collect()
    if interval:
        first(snapshot)
        time.sleep(interval)
        snapshot = collector.collect()
    return snapshot
