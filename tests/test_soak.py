"""A bounded soak: the real poller and collector under connection churn stay flat.

Caches (owners, inode placements, decoded addresses) must be bounded by what exists
now, not by everything ever seen; threads and fds must not creep up.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading
import time

import psutil

from portscope.collect import Collector
from portscope.poller import Poller, PollUpdate

SOAK_SECONDS = 30
WARM_UP_SECONDS = 8
MAX_RSS_GROWTH = 12 * 1024 * 1024


RESET_ON_CLOSE = struct.pack("ii", 1, 0)


def churn(listener: socket.socket, stop: threading.Event, counter: list[int]) -> None:
    """Open and close loopback connections, a few hundred a second.

    Closing with a reset leaves no TIME_WAIT behind, so the socket count stays level
    and any growth would be portscope's own.
    """
    address = listener.getsockname()
    while not stop.is_set():
        with socket.create_connection(address, timeout=1) as client:
            server, _ = listener.accept()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            server.close()
        counter[0] += 1
        time.sleep(0.002)


async def test_soak_under_churn_keeps_memory_threads_and_fds_flat() -> None:
    me = psutil.Process()
    listener = socket.create_server(("127.0.0.1", 0), backlog=512)
    stop = threading.Event()
    opened = [0]
    worker = threading.Thread(target=churn, args=(listener, stop, opened), daemon=True)
    collector = Collector()
    poller = Poller(collector.collect, interval=0.25)
    updates: list[PollUpdate] = []

    def keep_latest(event: object) -> None:
        if isinstance(event, PollUpdate):
            updates[:] = [event]
            polls[0] += 1

    polls = [0]
    poller.subscribe(keep_latest)
    worker.start()
    task = asyncio.create_task(poller.run())
    try:
        await asyncio.sleep(WARM_UP_SECONDS)
        baseline = (me.memory_info().rss, me.num_threads(), me.num_fds())
        polls_at_baseline = polls[0]
        await asyncio.sleep(SOAK_SECONDS - WARM_UP_SECONDS)
        final = (me.memory_info().rss, me.num_threads(), me.num_fds())
    finally:
        poller.stop()
        await task
        stop.set()
        worker.join(5)
        listener.close()
    assert opened[0] > 1000, "the churn did not run"
    assert polls[0] - polls_at_baseline > 20, "the poller stalled"
    assert final[0] - baseline[0] < MAX_RSS_GROWTH, (baseline, final)
    assert final[1] <= baseline[1], (baseline, final)
    assert final[2] <= baseline[2] + 2, (baseline, final)  # the churn's own socket in flight
    assert len(collector.owner_cache) < 50
    assert len(collector.inode_owners._placed) < 5000
    assert os.getpid() in {s.pid for s in updates[-1].snapshot.sockets}
