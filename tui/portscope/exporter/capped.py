"""The cap on how many series one metric family may hold in one exposition.

A host with thousands of listeners or leaking processes must not turn one scrape into
a cardinality problem for the Prometheus server: each family keeps its `limit` most
important series (the caller orders them) and the rest are counted, per family, in
`portscope_series_dropped_total`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class SeriesCap:
    """One poll's cap: `keep` what fits, and how many series each family dropped."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a family must be allowed at least one series")
        self.limit = limit
        self.dropped: Counter[str] = Counter()

    def keep(self, series: Sequence[T], *families: str) -> Sequence[T]:
        """The first `limit` of `series`, most important first; what is left out is
        counted as dropped from each of `families` (one series each)."""
        over = len(series) - self.limit
        if over > 0:
            for family in families:
                self.dropped[family] += over
        return series[: self.limit]
