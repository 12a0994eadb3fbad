"""The exporter as one subscriber of the shared Poller: it keeps the latest poll's
metric families, and hands them to every scrape.

A scrape never starts a poll: the Poller polls on its own schedule, each poll is
turned into metric families once (on the poller's thread), and a scrape reads the
families of the latest finished poll. So concurrent scrapes cost no polls at all, and
a scrape never waits for one, except the first poll after start, for which it waits
(`wait_for_first_poll`; the server bounds that wait).
A failed poll leaves no socket facts, only `portscope_poll_success 0` and the error
count: stale facts would look current to an alert.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from portscope.analysis import HealthTracker
from portscope.events import PollEvent, PollUpdate
from portscope.exporter.capped import SeriesCap
from portscope.exporter.facts import poll_families
from portscope.exporter.poll_health import PollHealth
from portscope.exporter.settings import ExportSettings
from portscope.failures import survived
from portscope.model import Snapshot


class LatestMetrics:
    """Registered in `registry` as a collector: `collect` yields the latest poll's facts.

    `on_poll` is the Poller subscriber; `record` takes a snapshot taken by hand (what
    `portscope metrics` does). Both run on one thread at a time, the poller's.
    """

    def __init__(self, registry: CollectorRegistry, settings: ExportSettings) -> None:
        self.settings = settings
        self._tracker = HealthTracker(pressure_limit=settings.top_destinations)
        self._health = PollHealth(registry)
        self._families: tuple[Metric, ...] = ()
        self._published = threading.Event()
        registry.register(self)

    def on_poll(self, event: PollEvent) -> None:
        if isinstance(event, PollUpdate):
            self.record(event.snapshot)
            return
        self._families = ()
        self._health.failed("collect")
        self._published.set()

    def record(self, snapshot: Snapshot) -> None:
        """Replace the facts by this poll's (CLOSE_WAIT trends build up across calls)."""
        cap = SeriesCap(self.settings.max_series)
        try:
            families = tuple(poll_families(snapshot, self._tracker.update(snapshot), cap))
        except Exception as exc:
            self._families = ()
            self._health.failed("export")
            survived("the exporter", exc)
        else:
            self._families = families
            self._health.polled(snapshot, cap.dropped)
        self._published.set()

    def collect(self) -> Iterator[Metric]:
        """The latest poll's families (prometheus_client's collector protocol); read
        by scrape threads while the poller replaces the whole tuple at once."""
        return iter(self._families)

    def wait_for_first_poll(self, timeout: float) -> bool:
        """Block until a first poll was published (or failed); False after `timeout`."""
        return self._published.wait(timeout)


def exposition(snapshot: Snapshot, settings: ExportSettings) -> str:
    """One poll in the text exposition format: what `portscope metrics` writes."""
    registry = CollectorRegistry()
    LatestMetrics(registry, settings).record(snapshot)
    return generate_latest(registry).decode()
