"""The dashboard's first collect, started before textual is imported.

Importing the UI and a cold collect at 20,000 sockets take time of the same order
(BENCHMARKS.md, "Behind the code"); running the collect alongside the imports brings
the first frame with data forward. Its owner search (a readlink of every fd on the
machine) runs in a forked child (`Collector(fork_first_scan=True)`), so it does not
share the interpreter lock with the imports. No textual here: the point is to run
before it is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from portscope.model import Snapshot

Collect = Callable[[], Snapshot]


class Prefetched:
    """A collect whose first call returns the snapshot already being taken."""

    def __init__(self, collect: Collect) -> None:
        self._collect = collect
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portscope-prefetch")
        self._first: Future[Snapshot] | None = pool.submit(collect)
        pool.shutdown(wait=False)

    def __call__(self) -> Snapshot:
        first, self._first = self._first, None
        return first.result() if first is not None else self._collect()


def start_collect() -> Prefetched:
    """The real collector, its first snapshot already under way."""
    from portscope.collect import Collector, default_scope

    return Prefetched(Collector(fork_first_scan=True, namespaces=default_scope()).collect)
