"""The dashboard's traffic feed: every poll's traffic, in order, on its own thread."""

from __future__ import annotations

import asyncio
import queue
import threading

import pytest

from portscope.analysis import TrafficReport
from portscope.collect import Collector
from portscope.poller import Poller
from portscope.view.traffic_feed import TrafficFeed
from sockets import SocketFarm, pour
from traffic_support import by_ends, ends, settle


async def test_every_poll_is_followed_in_order_off_the_event_loop(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    arrived: queue.Queue[tuple[TrafficReport, str]] = queue.Queue()
    feed = TrafficFeed(lambda r: arrived.put((r, threading.current_thread().name)))
    poller = Poller(Collector(tcp_info=True).collect)
    poller.subscribe(feed.on_poll)
    await poller.poll_once()
    pour(client, server, 250_000)
    settle(client)
    await poller.poll_once()
    reports = [await asyncio.to_thread(arrived.get, timeout=10) for _ in range(2)]
    feed.close()
    assert all(name.startswith("portscope-traffic") for _, name in reports)
    first, second = (report for report, _ in reports)
    assert first.interval is None and second.interval is not None
    assert second.taken_at > first.taken_at and feed.latest is second
    (sock,) = by_ends(second.snapshot, [ends(client)]).values()
    rate = second.rate(sock)
    assert rate is not None and rate.sent * second.interval == pytest.approx(250_000, rel=1e-9)
