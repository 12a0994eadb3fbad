"""Socket health from snapshots: ephemeral pressure per destination, accept queues,
CLOSE_WAIT leaks, TIME_WAIT, and the kernel's drop counters and conntrack fill.
Headless: never imports textual.

    reports = HealthTracker(Thresholds(warning=70, critical=90))
    poller.subscribe(reports.on_poll)          # then read reports.latest
    destination_pressure(snapshot, thresholds) # one poll, highest pressure first
"""

from portscope.analysis.closewait import CloseWaitTrend
from portscope.analysis.counters import ConntrackFill, CounterChange, CounterReport, ListenDrops
from portscope.analysis.health import Finding, HealthReport, HealthTracker
from portscope.analysis.levels import Level, Thresholds, percent_label, worst
from portscope.analysis.pressure import Destination, DestinationPressure, destination_pressure
from portscope.analysis.queues import AcceptQueue, accept_queues, listener_queue

__all__ = [
    "AcceptQueue",
    "CloseWaitTrend",
    "ConntrackFill",
    "CounterChange",
    "CounterReport",
    "Destination",
    "DestinationPressure",
    "Finding",
    "HealthReport",
    "HealthTracker",
    "Level",
    "ListenDrops",
    "Thresholds",
    "accept_queues",
    "destination_pressure",
    "listener_queue",
    "percent_label",
    "worst",
]
