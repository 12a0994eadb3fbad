"""The recorder's one writer thread: polls and kernel ends in, batches out to SQLite.

Everything that reaches the history passes through `Writer.inbox`, so the ledger and
the database are only ever touched by this thread and nothing waits for the disk: the
poller's subscriber and the destroy-event reader only enqueue. A batch (a second's
worth) is one transaction. One that fails for a reason that can pass (a full disk, a
read-only remount, an I/O error) is dropped and counted, the loss said once on stderr,
and the next batch tries again; when one succeeds, the recorder says it recovered and
how much was lost. A damaged database ends the run.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

from portscope.collect.netlink import Ended
from portscope.events import PollEvent, PollUpdate
from portscope.failures import LOG
from portscope.history.records import Batch
from portscope.history.retention import Limits, prune
from portscope.history.store import Store
from portscope.recorder.ledger import Ledger

FLUSH_EVERY = 1.0
PRUNE_EVERY = 60.0
DRAIN = 512
"""Items taken from the inbox before the clock is looked at again."""
PASSING = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_BUSY", "SQLITE_LOCKED")
"""Errors a later batch may not meet again: the disk may be freed, remounted, unlocked."""
MESSAGE_NAMES = (
    ("disk is full", "SQLITE_FULL"),
    ("disk I/O error", "SQLITE_IOERR"),
    ("readonly", "SQLITE_READONLY"),
    ("locked", "SQLITE_BUSY"),
)
"""What Python before 3.11 (no `sqlite_errorname`) leaves to go by."""
Say = Callable[[str], None]


def error_name(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", None)
    if name:
        return str(name)
    text = str(exc)
    return next((name for words, name in MESSAGE_NAMES if words in text), "SQLITE_ERROR")


def passes(exc: sqlite3.Error) -> bool:
    return error_name(exc).startswith(PASSING)


def records(batch: Batch) -> str:
    return f"{len(batch.closed)} connections and {len(batch.listener_events)} listener events"


class Writer(threading.Thread):
    """Feeds the ledger and writes what it hands over; see the module."""

    def __init__(self, store: Store, ledger: Ledger, limits: Limits, say: Say) -> None:
        super().__init__(name="portscope-history-writer", daemon=True)
        self.store = store
        self.ledger = ledger
        self.limits = limits
        self.say = say
        self.inbox: queue.SimpleQueue[tuple[object, ...] | None] = queue.SimpleQueue()
        self.dropped = 0
        """Connections and listener events not written, this run."""
        self.failure: str | None = None
        """Why the run cannot go on (the database is damaged), once it cannot."""
        self.written = threading.Event()
        """Set after the first batch that held a poll is in the database."""
        self._failing: str | None = None
        self._dropped_since = 0

    def on_poll(self, event: PollEvent) -> None:
        """The poller's subscriber: enqueue, never wait."""
        if isinstance(event, PollUpdate):
            self.inbox.put(("poll", event.snapshot, event.delta))

    def on_ended(self, at: float, ends: Sequence[Ended], netns: int = 0) -> None:
        """The destroy-event reader's (ends heard in namespace `netns`): enqueue, never
        wait."""
        if ends:
            self.inbox.put(("ended", at, ends, netns))

    def stop(self) -> None:
        """Write everything still waiting (all grace cut short), then end the thread."""
        self.inbox.put(None)
        self.join()

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug or a damaged database: the run is over
            LOG.error("history writer failed", exc_info=exc)
            self.failure = f"writing the history failed: {type(exc).__name__}: {exc}"
            self.written.set()

    def _loop(self) -> None:
        next_flush = time.time() + FLUSH_EVERY
        next_prune = time.time()
        polled = 0
        while True:
            try:
                item = self.inbox.get(timeout=max(0.0, next_flush - time.time()))
            except queue.Empty:
                item = ()
            for _ in range(DRAIN):
                if item is None:
                    self._flush(self.ledger.take(), time.time())
                    return
                polled += self._feed(item)
                try:
                    item = self.inbox.get_nowait()
                except queue.Empty:
                    break
            now = time.time()
            if now >= next_flush:
                if self._flush(self.ledger.take(now), now) and polled:
                    self.written.set()
                next_flush = now + FLUSH_EVERY
            if now >= next_prune:
                self._prune(now)
                next_prune = now + PRUNE_EVERY

    def _feed(self, item: tuple[object, ...]) -> int:
        """Hand one inbox item to the ledger; 1 if it was a poll."""
        if not item:
            return 0
        if item[0] == "poll":
            self.ledger.poll(item[1], item[2])  # type: ignore[arg-type]
            return 1
        self.ledger.ended(item[1], item[2], item[3])  # type: ignore[arg-type]
        return 0

    def _flush(self, batch: Batch, now: float) -> bool:
        """Write one batch; False (and the loss counted and said) if it failed."""
        try:
            self.store.write(batch, now, self.dropped)
        except sqlite3.Error as exc:
            if not passes(exc):
                raise
            lost = len(batch.closed) + len(batch.listener_events)
            self.dropped += lost
            self._dropped_since += lost
            if self._failing is None:
                self._failing = str(exc)
                self.say(
                    f"cannot write {self.store.path} ({exc}): dropped {records(batch)}; "
                    "still recording, and trying again every second"
                )
            return False
        if self._failing is not None:
            self.say(
                f"writing {self.store.path} again: {self._dropped_since} records were "
                f"dropped while it could not be written ({self._failing})"
            )
            self._failing, self._dropped_since = None, 0
        return True

    def _prune(self, now: float) -> None:
        try:
            prune(self.store.conn, self.limits, now)
        except sqlite3.Error as exc:
            if not passes(exc):
                raise
            LOG.warning("pruning the history failed: %s", exc)
