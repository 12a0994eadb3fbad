"""How much of a poll the exporter exports; no prometheus_client here, so the command
line can show the defaults without loading it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """`top_destinations`: how many of the most pressed destinations are exported;
    `max_series`: the cap on any one family's series."""

    top_destinations: int = 20
    max_series: int = 1_000
