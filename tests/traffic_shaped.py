"""Inside a network namespace whose loopback a test has shaped (tc, iptables): a bulk
transfer to 127.0.0.1:PORT, polled twice by the real collector and traffic tracker
while it runs, with `portscope check ARGS` run beside it if ARGS are given. Prints what
they saw of the sending connection as JSON.

    python traffic_shaped.py PORT [check args...]
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

from portscope.analysis.traffic import TrafficTracker
from portscope.collect import Collector

WARM_UP = 1.0
BETWEEN_POLLS = 2.0
CHUNK = b"s" * 65536


def main() -> None:
    port, check_args = int(sys.argv[1]), sys.argv[2:]
    listener = socket.create_server(("127.0.0.1", port))
    client = socket.create_connection(("127.0.0.1", port))
    server, _peer = listener.accept()
    stop = threading.Event()

    def write() -> None:
        try:
            while not stop.is_set():
                client.sendall(CHUNK)
        except OSError:
            pass

    def read() -> None:
        while server.recv(1 << 20):
            pass

    threading.Thread(target=write, daemon=True).start()
    threading.Thread(target=read, daemon=True).start()
    time.sleep(WARM_UP)
    collector, tracker = Collector(tcp_info=True), TrafficTracker()
    first = tracker.update(collector.collect())
    check = None
    if check_args:
        argv = [sys.executable, "-m", "portscope", "check", *check_args]
        check = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    else:
        time.sleep(BETWEEN_POLLS)
    report = tracker.update(collector.collect())
    stop.set()
    ends = (*client.getsockname(), *client.getpeername())
    (sock,) = [
        s
        for s in report.snapshot.connections
        if (s.local_address, s.local_port, s.remote_address, s.remote_port) == ends
    ]
    before, now = first.connection(sock), report.connection(sock)
    assert before is not None and now is not None and now.rate is not None
    print(
        json.dumps(
            {
                "rtt": now.info.rtt,
                "min_rtt": now.info.min_rtt,
                "retransmitted": (now.info.total_retrans or 0) - (before.info.total_retrans or 0),
                "retransmit_rate": now.rate.retransmits,
                "sent": now.rate.sent,
                "flags": list(now.flags),
                "reasons": list(now.reasons),
                "check": None if check is None else [check.returncode, check.stdout],
            }
        )
    )
    client.close()
    server.close()


if __name__ == "__main__":
    main()
