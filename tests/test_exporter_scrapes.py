"""Scrapes and polls: the exporter is one subscriber of the shared Poller, so a scrape
never starts a poll, never waits for one once the first is in, and concurrent scrapes
cost no polls at all. The real collector and the real HTTP server, in this process: a
gate held inside collect() shows what a scrape does while a poll is under way."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from exporter_support import Response, only, scrape
from portscope.collect import Collector
from portscope.exporter.facts import LISTENER_INFO
from portscope.exporter.latest import LatestMetrics
from portscope.exporter.listen import ListenAddress
from portscope.exporter.server import MetricsServer, metrics_app
from portscope.exporter.settings import ExportSettings
from portscope.model import Snapshot
from portscope.poller import Poller
from sockets import SocketFarm

SCRAPERS = 16
HELD = 60.0
"""Longest a test holds a poll or waits for a scrape: a failure bound, not a timing."""


@dataclass
class GatedCollect:
    """The real collector; each call waits for the gate, and calls are counted."""

    collector: Collector = field(default_factory=Collector)
    gate: threading.Event = field(default_factory=threading.Event)
    waiting: threading.Event = field(default_factory=threading.Event)
    calls: int = 0
    running: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> Snapshot:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            self.waiting.set()
            assert self.gate.wait(HELD), "the test never opened the gate"
            self.gate.clear()
            return self.collector.collect()
        finally:
            with self.lock:
                self.running -= 1


@dataclass
class Exporter:
    poller: Poller
    collect: GatedCollect
    url: str
    entered: threading.Event


@pytest.fixture
async def exporter() -> AsyncIterator[Exporter]:
    """`portscope serve`'s parts, on a free loopback port; the poller polls once a minute
    on its own, so every other poll in a test is one the test asked for."""
    collect = GatedCollect()
    registry = CollectorRegistry()
    latest = LatestMetrics(registry, ExportSettings())
    app = metrics_app(latest, registry, None)
    entered = threading.Event()

    def observed(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        entered.set()
        return app(environ, start_response)

    server = MetricsServer(ListenAddress("127.0.0.1", 0), observed)
    http = threading.Thread(target=server.serve_forever, daemon=True)
    http.start()
    poller = Poller(collect, interval=60)
    poller.subscribe(latest.on_poll)
    task = asyncio.create_task(poller.run())
    url = f"http://127.0.0.1:{server.socket.getsockname()[1]}/metrics"
    try:
        yield Exporter(poller, collect, url, entered)
    finally:
        poller.stop()
        collect.gate.set()
        await asyncio.wait_for(task, HELD)
        server.shutdown()
        server.server_close()


def scrapes(url: str, count: int) -> list[Response]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: scrape(url), range(count)))


async def test_a_scrape_before_the_first_poll_waits_for_it(
    exporter: Exporter, farm: SocketFarm
) -> None:
    port = str(farm.tcp_listener().getsockname()[1])
    assert await asyncio.to_thread(exporter.collect.waiting.wait, HELD), "first poll under way"
    pending = asyncio.create_task(asyncio.to_thread(scrape, exporter.url))
    assert await asyncio.to_thread(exporter.entered.wait, HELD), "the scrape reached the app"
    exporter.collect.gate.set()
    answer = await asyncio.wait_for(pending, HELD)
    assert answer.status == 200
    assert only(answer.body, "portscope_poll_success") == 1
    assert only(answer.body, LISTENER_INFO, port=port, address="127.0.0.1") == 1
    assert exporter.collect.calls == 1


async def test_concurrent_scrapes_start_no_poll_and_wait_for_none(exporter: Exporter) -> None:
    exporter.collect.gate.set()
    first = await asyncio.to_thread(scrape, exporter.url)
    assert only(first.body, "portscope_poll_duration_seconds_count") == 1
    answers = await asyncio.to_thread(scrapes, exporter.url, SCRAPERS)
    assert exporter.collect.calls == 1, "scrapes started no poll"
    exporter.collect.waiting.clear()
    exporter.poller.poll_now()
    assert await asyncio.to_thread(exporter.collect.waiting.wait, HELD), "second poll under way"
    during = await asyncio.to_thread(scrapes, exporter.url, SCRAPERS)
    assert exporter.collect.running == 1, "the second poll is still held"
    for answer in (*answers, *during):
        assert answer.status == 200
        assert only(answer.body, "portscope_poll_duration_seconds_count") == 1
    exporter.collect.gate.set()
    while exporter.poller.sequence < 2:
        await asyncio.sleep(0.01)
    after = await asyncio.to_thread(scrape, exporter.url)
    assert only(after.body, "portscope_poll_duration_seconds_count") == 2
    assert (exporter.collect.calls, exporter.collect.most_at_once) == (2, 1)
