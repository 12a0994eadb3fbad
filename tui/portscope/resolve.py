"""Reverse DNS that never blocks its caller.

`Resolver.name()` answers from cache at once and queues a lookup for anything it does
not know. Lookups run on a small bounded thread pool, at most once at a time per
address, and both answers and failures are cached with expiry, so a table of 20,000
peers costs a handful of queries, not a frozen screen.

libc lookups cannot be cancelled: a lookup slower than `timeout` is reported (and
cached) as unresolved, and its thread is free again when libc gives up. Nobody waits on
the pool's futures: a lookup or callback that raises anything else is logged here.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from portscope.addresses import unscoped
from portscope.failures import survived

OnResolved = Callable[[str, "str | None"], None]
MAX_QUEUED = 256


class Resolver:
    """Cached, asynchronous reverse lookups; `on_resolved` runs on a worker thread."""

    def __init__(
        self,
        on_resolved: OnResolved,
        workers: int = 4,
        timeout: float = 2.0,
        ttl: float = 300.0,
        negative_ttl: float = 60.0,
        max_entries: int = 4096,
        lookup: Callable[[str], str] = lambda address: socket.gethostbyaddr(address)[0],
    ) -> None:
        self._on_resolved = on_resolved
        self._lookup = lookup
        self.timeout = timeout
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="portscope-dns")
        self._closed = False

    def name(self, address: str) -> str | None:
        """The cached name for `address`; None now (and a lookup queued) when unknown."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(address)
            if cached is not None and cached[1] > now:
                self._cache.move_to_end(address)
                return cached[0]
            if self._closed or address in self._in_flight or len(self._in_flight) >= MAX_QUEUED:
                return None
            self._in_flight.add(address)
        self._pool.submit(self._resolve, address)
        return None

    def _resolve(self, address: str) -> None:
        started = time.monotonic()
        try:
            name: str | None = self._lookup(unscoped(address))
        except (OSError, UnicodeError, ValueError):
            name = None
        except Exception as exc:
            survived("a host name lookup", exc)
            name = None
        finished = time.monotonic()
        if finished - started > self.timeout:
            name = None
        if name == address:
            name = None
        expires = finished + (self.ttl if name else self.negative_ttl)
        with self._lock:
            self._in_flight.discard(address)
            self._cache[address] = (name, expires)
            self._cache.move_to_end(address)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
            closed = self._closed
        if not closed:
            try:
                self._on_resolved(address, name)
            except Exception as exc:
                survived("handing back a host name", exc)

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        """Stop taking lookups; threads blocked inside libc finish on their own."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
