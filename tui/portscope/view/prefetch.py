"""The dashboard's first collect, started before textual is imported.

Importing the UI and a cold collect at 20,000 sockets take time of the same order
(BENCHMARKS.md, "Behind the code"); running the collect alongside the imports brings
the first frame with data forward. Its owner search (a readlink of every fd on the
machine) runs in a forked child (`Collector(fork_first_scan=True)`), so it does not
share the interpreter lock with the imports. It hands the dashboard what switches that
collector's tcp_info too (`switch_traffic`). No textual here: the point is to run
before it is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from portscope.model import Snapshot

if TYPE_CHECKING:
    from portscope.collect import Collector

Collect = Callable[[], Snapshot]
Switch = Callable[[bool], None]


def tcp_info_switch(collector: Collector) -> Switch:
    """What switches `collector`'s tcp_info on and off (between polls)."""

    def switch(wanted: bool) -> None:
        collector.tcp_info = wanted

    return switch


class Prefetched:
    """A collect whose first call returns the snapshot already being taken;
    `switch_traffic` switches its tcp_info, when it can be."""

    def __init__(self, collect: Collect, switch_traffic: Switch | None = None) -> None:
        self._collect = collect
        self.switch_traffic = switch_traffic
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portscope-prefetch")
        self._first: Future[Snapshot] | None = pool.submit(collect)
        pool.shutdown(wait=False)

    def __call__(self) -> Snapshot:
        first, self._first = self._first, None
        return first.result() if first is not None else self._collect()


def start_collect() -> Prefetched:
    """The real collector, its first snapshot already under way."""
    from portscope.collect import Collector, default_scope

    collector = Collector(fork_first_scan=True, namespaces=default_scope())
    return Prefetched(collector.collect, tcp_info_switch(collector))
