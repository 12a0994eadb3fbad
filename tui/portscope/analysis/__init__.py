"""Socket health from snapshots: ephemeral pressure per destination, accept queues,
CLOSE_WAIT leaks, TIME_WAIT, the kernel's drop counters and conntrack fill; traffic and
TCP health per connection, process, destination and namespace. Headless: never imports
textual.

    reports = HealthTracker(Thresholds(warning=70, critical=90))
    poller.subscribe(reports.on_poll)          # then read reports.latest
    destination_pressure(snapshot, thresholds) # one poll, highest pressure first
    TrafficTracker().update(snapshot)          # every poll: rates, sums, flags
"""

from portscope.analysis.closewait import CloseWaitTrend
from portscope.analysis.counters import ConntrackFill, CounterChange, CounterReport, ListenDrops
from portscope.analysis.health import Finding, HealthReport, HealthTracker
from portscope.analysis.levels import Level, Thresholds, percent_label, worst
from portscope.analysis.pressure import Destination, DestinationPressure, destination_pressure
from portscope.analysis.queues import AcceptQueue, accept_queues, listener_queue
from portscope.analysis.tcp_health import Flag, Limits, Rate, TrafficThresholds
from portscope.analysis.traffic import (
    ConnectionTraffic,
    GroupTraffic,
    TrafficReport,
    TrafficTracker,
)

__all__ = [
    "AcceptQueue",
    "CloseWaitTrend",
    "ConnectionTraffic",
    "ConntrackFill",
    "CounterChange",
    "CounterReport",
    "Destination",
    "DestinationPressure",
    "Finding",
    "Flag",
    "GroupTraffic",
    "HealthReport",
    "HealthTracker",
    "Level",
    "Limits",
    "ListenDrops",
    "Rate",
    "Thresholds",
    "TrafficReport",
    "TrafficThresholds",
    "TrafficTracker",
    "accept_queues",
    "destination_pressure",
    "listener_queue",
    "percent_label",
    "worst",
]
