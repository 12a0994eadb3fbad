"""Cost of the health analysis at server scale, on real loopback sockets.

Opens PAIRS connections spread over LISTENERS listeners (2 x PAIRS sockets), then
times a full poll and, separately, `HealthTracker.update` on that poll. Run it in
its own namespace so the figures are about exactly these sockets:

    unshare --net sh -c 'ip link set lo up && PYTHONPATH=tui python benchmarks/health_pressure.py'
"""

from __future__ import annotations

import resource
import socket
import statistics
import sys
import time

from portscope.analysis import HealthTracker
from portscope.collect import Collector

PAIRS = int(sys.argv[1]) if len(sys.argv) > 1 else 9_800
LISTENERS = int(sys.argv[2]) if len(sys.argv) > 2 else 50
ROUNDS = 5


def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    listeners = []
    for _ in range(LISTENERS):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)
        listeners.append(listener)
    held = []
    for i in range(PAIRS):
        target = listeners[i % LISTENERS]
        client = socket.create_connection(target.getsockname())
        held += [client, target.accept()[0]]
    collector = Collector()
    tracker = HealthTracker()
    polls, analyses = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        snapshot = collector.collect()
        polls.append(time.perf_counter() - started)
        started = time.perf_counter()
        report = tracker.update(snapshot)
        analyses.append(time.perf_counter() - started)
    print(
        f"{len(snapshot.connections) + len(snapshot.listeners)} sockets, "
        f"{len(report.pressure)} destinations ({snapshot.source}): "
        f"poll median {statistics.median(polls) * 1000:.0f} ms, "
        f"health analysis median {statistics.median(analyses) * 1000:.1f} ms"
    )
    for sock in held + listeners:
        sock.close()


if __name__ == "__main__":
    main()
