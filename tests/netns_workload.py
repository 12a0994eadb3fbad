"""A workload for a recorder to watch, run inside a network namespace (`ip netns
exec NAME python netns_workload.py SPEC`): a loopback listener on the spec's port, held
over `settle` seconds (so a poll sees it), then `count` connections each opened, used
and closed at once (far shorter than a poll), then `settle` seconds more before the
listener closes. Prints one JSON document: the connections' client ports, the
listener's port and this process's name."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from recorder_scenario import short_connection  # noqa: E402


def main() -> None:
    spec = json.loads(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", spec["port"]))
    listener.listen(128)
    time.sleep(spec["settle"])
    ports = [short_connection(listener) for _ in range(spec["count"])]
    time.sleep(spec["settle"])
    listener.close()
    comm = Path("/proc/self/comm").read_text().strip()
    print(json.dumps({"ports": ports, "listener_port": spec["port"], "comm": comm}))


if __name__ == "__main__":
    main()
