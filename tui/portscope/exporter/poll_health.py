"""The exporter's own health: how long polls take, how many failed, whether the latest
one worked, and what the series cap left out. Kept across polls, in the registry that
is scraped, by prometheus_client's own metric types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from portscope import __version__
from portscope.exporter.facts import CAPPED
from portscope.model import Snapshot

Reason = Literal["collect", "incomplete", "export"]
REASONS: tuple[Reason, ...] = ("collect", "incomplete", "export")
"""`collect`: the poll raised and there is nothing to show; `incomplete`: part of the
socket tables could not be read (the rest is shown); `export`: turning the poll into
metrics raised (a bug: see the `--log` file)."""
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: a quiet host polls in milliseconds, 20,000 sockets in a few hundred."""


class PollHealth:
    """Registers the exporter's health metrics in `registry` and keeps them current."""

    def __init__(self, registry: CollectorRegistry) -> None:
        disable_created_metrics()  # a `_created` series per counter says nothing here
        self.duration = Histogram(
            "portscope_poll_duration_seconds",
            "Time one poll of the socket tables and owners took",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "portscope_poll_errors",
            "Polls that failed (collect), were incomplete, or could not be exported",
            ["reason"],
            registry=registry,
        )
        self.success = Gauge(
            "portscope_poll_success",
            "1 if the latest poll succeeded, else 0 (and the exporter shows no socket facts)",
            registry=registry,
        )
        self.last_success = Gauge(
            "portscope_last_successful_poll_timestamp_seconds",
            "When the latest successful poll was taken, in seconds since the epoch",
            registry=registry,
        )
        self.dropped = Counter(
            "portscope_series_dropped",
            "Series left out of a family by the --max-series cap, summed over polls",
            ["family"],
            registry=registry,
        )
        build = Gauge(
            "portscope_build_info",
            "The portscope version; always 1",
            ["version"],
            registry=registry,
        )
        build.labels(__version__).set(1)
        for reason in REASONS:
            self.errors.labels(reason)
        for family in CAPPED:
            self.dropped.labels(family)

    def polled(self, snapshot: Snapshot, dropped: Mapping[str, int]) -> None:
        self.duration.observe(snapshot.duration)
        if snapshot.errors:
            self.errors.labels("incomplete").inc()
        for family, count in dropped.items():
            self.dropped.labels(family).inc(count)
        self.last_success.set(snapshot.taken_at)
        self.success.set(1)

    def failed(self, reason: Reason) -> None:
        self.errors.labels(reason).inc()
        self.success.set(0)
