"""The dashboard's first collect starts at once, before the UI is imported."""

from __future__ import annotations

import threading
from dataclasses import replace

from demo.server import ScriptedSource, demo_snapshot
from portscope.model import Snapshot
from portscope.view.prefetch import Prefetched, start_collect
from sockets import SocketFarm


def test_the_first_snapshot_is_taken_on_another_thread_then_collects_go_on_in_order() -> None:
    steps = [replace(demo_snapshot(), taken_at=float(i)) for i in range(3)]
    source = ScriptedSource(steps)
    threads: list[str] = []

    def collect() -> Snapshot:
        threads.append(threading.current_thread().name)
        return source()

    prefetched = Prefetched(collect)
    first = prefetched()
    assert threads[0].startswith("portscope-prefetch")
    assert [s.taken_at for s in (first, prefetched(), prefetched())] == [0.0, 1.0, 2.0]
    assert threads[1:] == [threading.current_thread().name] * 2


def test_the_dashboard_s_collector_brings_tcp_info_once_switched_on(farm: SocketFarm) -> None:
    """`portscope` starts its collector before the UI (`start_collect`); the dashboard
    switches that collector's tcp_info through what it hands over."""
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener)
    prefetched = start_collect()
    assert prefetched().tcp_info is None
    assert prefetched.switch_traffic is not None
    prefetched.switch_traffic(True)
    assert prefetched().tcp_info is not None
    prefetched.switch_traffic(False)
    assert prefetched().tcp_info is None
