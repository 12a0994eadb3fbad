"""`portscope record`: the shared poller and the kernel's socket ends, into the history.

Three threads, none waiting on another: the event loop runs the poller (whose
subscriber only enqueues), a reader thread takes the kernel's destroy broadcasts where
the kernel lets this process join them, and the writer thread (`writer`) owns the ledger
and the database. Run in the host's network namespace, the poller reads every one
(`collect.default_scope`), and the reader hears the ends in each namespace a poll
lists, through a feed made inside it (`collect.destroy_feeds`): the poller's subscriber
hands it the namespaces, and it alone joins them, on helper threads of its own.
SIGTERM, SIGINT and SIGHUP end the run cleanly: the writer writes
everything still waiting and the run is marked stopped.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from portscope.collect import Collector, default_scope, own_netns
from portscope.collect.destroy_feeds import NamespaceFeeds
from portscope.collect.netlink import NetlinkUnavailable
from portscope.events import PollEvent, PollFailed, PollUpdate
from portscope.failures import LOG
from portscope.history.database import read_failure
from portscope.history.lock import WriterLock
from portscope.history.retention import Limits
from portscope.history.store import Store
from portscope.poller import Poller
from portscope.recorder.ledger import Ledger
from portscope.recorder.writer import Writer

RUN_FAILED = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
WATCH_EVERY = 0.25
RECEIVE_WAIT = 0.5
"""Seconds the reader waits for ends before it looks at `stop` and the namespaces."""
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RecorderOptions:
    db: Path
    interval: float
    limits: Limits
    kernel_events: bool = True
    """Join the kernel's destroy broadcasts (False: `--polls-only`)."""


def open_feeds(wanted: bool, say: Say) -> tuple[NamespaceFeeds | None, str | None]:
    """The destroy broadcasts (of our own namespace, to begin with), or None and why not."""
    if not wanted:
        return None, "--polls-only"
    try:
        return NamespaceFeeds(own_netns(), say), None
    except NetlinkUnavailable as exc:
        return None, f"the kernel's socket-end events are not available: {exc.strerror or exc}"


class PollWatch:
    """Says when polls start failing (once per run of failures) and when they work again:
    a recorder whose polls all fail would otherwise record nothing, silently."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.failing = False

    def on_poll(self, event: PollEvent) -> None:
        if isinstance(event, PollFailed) and not self.failing:
            self.say(f"a poll failed ({event.error}); retrying in {event.retry_in:g} s")
        elif isinstance(event, PollUpdate) and self.failing:
            self.say("polling again")
        self.failing = isinstance(event, PollFailed)


def read_ends(feeds: NamespaceFeeds, writer: Writer, stop: threading.Event, say: Say) -> None:
    """The reader thread: every buffer of ends, with its namespace, to the writer's
    inbox, until `stop`."""
    behind = False
    while not stop.is_set():
        for heard in feeds.receive(RECEIVE_WAIT):
            if heard.lost and not behind:
                say(
                    "the kernel dropped socket-end events (this reader fell behind): "
                    "connections that ended meanwhile are recorded only if a poll saw them"
                )
                behind = True
            elif heard.failed is not None:
                say(
                    f"the kernel's socket-end events of {feeds.name(heard.netns)} stopped "
                    f"({heard.failed}); polls go on"
                )
            elif heard.ends:
                writer.on_ended(heard.at, heard.ends, heard.netns)


def record(options: RecorderOptions, say: Say) -> int:
    """Run until a stop signal; 0, or RUN_FAILED when writing the history failed.
    HistoryRefused (before anything runs) when the database cannot be used."""
    lock = WriterLock.take(options.db)
    try:
        store = Store.open(options.db)
        try:
            return run_with(store, options, say)
        except sqlite3.DatabaseError as exc:  # a damaged page met while starting
            say(read_failure(options.db, exc))
            return RUN_FAILED
        finally:
            store.close()
    finally:
        lock.release()


def run_with(store: Store, options: RecorderOptions, say: Say) -> int:
    feeds, note = open_feeds(options.kernel_events, say)
    ledger = Ledger(store.recovered())
    store.start_run(time.time(), options.interval, feeds is not None, note)
    writer = Writer(store, ledger, options.limits, say)
    every = f"every {options.interval:g} s"
    if feeds is None:
        say(
            f"recording to {store.path}: polls {every} only ({note}); "
            "connections shorter than a poll are missed"
        )
    else:
        say(f"recording to {store.path}: polls {every} and every socket end the kernel reports")
    stop = threading.Event()
    reader = None
    writer.start()
    if feeds is not None:
        reader = threading.Thread(
            target=read_ends, args=(feeds, writer, stop, say), name="portscope-ends", daemon=True
        )
        reader.start()
    try:
        asyncio.run(poll_until_stopped(options.interval, writer, feeds, say))
    finally:
        stop.set()
        if reader is not None:
            reader.join()
        if feeds is not None:
            feeds.close()
        writer.stop()
    if writer.failure is not None:
        say(writer.failure)
        return RUN_FAILED
    store.finish_run(time.time(), writer.dropped)
    if ledger.peerless:
        LOG.info("%d socket ends came without a peer and were not recorded", ledger.peerless)
    say(f"stopped; {writer.dropped} records dropped in this run" if writer.dropped else "stopped")
    return 0


def hand_namespaces(feeds: NamespaceFeeds) -> Callable[[PollEvent], None]:
    """A poller subscriber that hands each poll's namespaces to the feeds' reader."""

    def on_poll(event: PollEvent) -> None:
        if isinstance(event, PollUpdate):
            feeds.want(event.snapshot.namespaces)

    return on_poll


async def poll_until_stopped(
    interval: float, writer: Writer, feeds: NamespaceFeeds | None, say: Say
) -> None:
    """The shared poller (of every namespace, when run in the host's), with the writer
    as its subscriber, until a stop signal or a failed writer; says so once the first
    poll is in the database."""
    collector = Collector(namespaces=default_scope())
    poller = Poller(collector.collect, interval, on_failure=lambda failure: say(failure.notice))
    poller.subscribe(writer.on_poll)
    if feeds is not None:
        poller.subscribe(hand_namespaces(feeds))
    poller.subscribe(PollWatch(say).on_poll)
    loop = asyncio.get_running_loop()
    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, poller.stop)
    watch = asyncio.create_task(watch_writer(poller, writer, say))
    try:
        await poller.run()
    finally:
        watch.cancel()


async def watch_writer(poller: Poller, writer: Writer, say: Say) -> None:
    announced = False
    while True:
        if writer.failure is not None or not writer.is_alive():
            poller.stop()
            return
        if not announced and writer.written.is_set():
            say("first poll recorded")
            announced = True
        await asyncio.sleep(WATCH_EVERY)
