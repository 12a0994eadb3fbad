"""What this dashboard session has seen end: the History view's source when no
recorder writes a database.

The same ledger as `portscope record`, fed by the dashboard's own poller (polls only:
the dashboard does not join the kernel's broadcasts, so connections shorter than a poll
are missed unless a TIME_WAIT remnant shows them), its rows kept in memory, the newest
`limit` of each kind. It answers `recent` with the same `HistoryPage` as
`HistoryReader.recent`, and `last_use` with the same `PortHistory`, filtered by the same
rules (`query.matches`). Polls come in on one thread and questions on others, so every
touch of the rows holds a lock.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

from portscope.events import PollEvent, PollUpdate
from portscope.history.query import TOP, listener_matches, matches
from portscope.history.records import (
    DAY,
    ClosedConnection,
    HistoryFilter,
    HistoryPage,
    ListenerEvent,
    PortHistory,
    Run,
    Window,
)
from portscope.recorder.ledger import Ledger

LIMIT = 10_000
NOTE = "this dashboard session's polls"


class SessionHistory:
    """A poller subscriber that keeps what ended while the dashboard ran."""

    def __init__(self, interval: float, limit: int = LIMIT, started: float | None = None) -> None:
        self.interval = interval
        """The poll interval, for what the page says was missed (set it when it changes)."""
        self.started = time.time() if started is None else started
        self._last = self.started
        self._ledger = Ledger()
        self._lock = threading.Lock()
        self._connections: deque[ClosedConnection] = deque(maxlen=limit)
        self._events: deque[ListenerEvent] = deque(maxlen=limit)

    def on_poll(self, event: PollEvent) -> None:
        """One poll's Delta into the ledger; what it settles into memory. The listeners
        there at the first poll are not news: they are not kept as events."""
        if not isinstance(event, PollUpdate):
            return
        at = event.snapshot.taken_at
        self._ledger.poll(event.snapshot, event.delta)
        batch = self._ledger.take(at)
        with self._lock:
            self._connections.extend(batch.closed)
            self._events.extend(e for e in batch.listener_events if not e.while_stopped)
            self._last = at

    def _run(self) -> Run:
        return Run(self.started, self._last, None, self.interval, False, NOTE)

    def recent(self, wanted: HistoryFilter, limit: int = 50) -> HistoryPage:
        """As `HistoryReader.recent`, over what this session has kept."""
        with self._lock:
            found = [c for c in reversed(self._connections) if matches(wanted, c)]
            events = [e for e in reversed(self._events) if listener_matches(wanted, e)]
            run = self._run()
        by_process = Counter(c.owner.process if c.owner and c.owner.process else "?" for c in found)
        by_destination = Counter(c.remote for c in found if not c.accepted)
        return HistoryPage(
            filter=wanted,
            connections=tuple(found[:limit]),
            listener_events=tuple(events[:limit]),
            total=len(found),
            by_process=tuple(by_process.most_common(TOP)),
            by_destination=tuple(by_destination.most_common(TOP)),
            runs=(run,),
        )

    def last_use(self, port: int, window: float = DAY, now: float | None = None) -> PortHistory:
        """As `HistoryReader.last_use`: the newest connection this session saw with
        `port` at either end, and how many it saw within `window` before `now`."""
        now = time.time() if now is None else now
        span = Window(now - window, now)
        with self._lock:
            used = [c for c in self._connections if port in (c.local_port, c.remote_port)]
            run = self._run()
        count = sum(1 for c in used if span.since <= c.closed <= span.until)
        return PortHistory(port, span, used[-1] if used else None, count, (run,))
