"""Listeners coming and going against a saved baseline, in a fresh network namespace.

Run as `unshare --net python baseline_scenario.py DIR` (root; tests/test_baseline.py
does). The namespace has no listeners of its own, so the baseline holds exactly what
this script opened. Each step runs the real `portscope check --baseline` (or `diff`)
and records its exit status and output; one JSON document on stdout.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path


def portscope(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "portscope", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return {"exit": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def listener(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.bind((host, 0))
    sock.listen()
    return sock


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    baseline = str(Path(sys.argv[1]) / "baseline.json")
    kept = listener("127.0.0.1")
    steps: dict[str, object] = {
        "kept_port": kept.getsockname()[1],
        "comm": Path("/proc/self/comm").read_text().strip(),
        "netns": f"netns:{os.readlink('/proc/self/ns/net')[5:-1]}",
    }
    steps["save"] = portscope("baseline", "save", baseline)
    steps["nothing_new"] = portscope("check", "--baseline", baseline)
    steps["diff_nothing"] = portscope("diff", "--baseline", baseline)
    loopback = listener("127.0.0.1")
    steps["loopback_port"] = loopback.getsockname()[1]
    steps["new_loopback"] = portscope("check", "--baseline", baseline)
    exposed = listener("0.0.0.0")
    steps["exposed_port"] = exposed.getsockname()[1]
    steps["new_exposed"] = portscope("check", "--baseline", baseline, "--json")
    steps["new_exposed_text"] = portscope("check", "--baseline", baseline)
    steps["diff_new"] = portscope("diff", "--baseline", baseline)
    loopback.close()
    exposed.close()
    kept.close()
    steps["missing"] = portscope("check", "--baseline", baseline)
    print(json.dumps(steps))


if __name__ == "__main__":
    main()
