"""A real Prometheus scraping a real `portscope serve`, inside a fresh network namespace.

Run as `unshare --net python prometheus_scenario.py CONNECTIONS` (root). The namespace
holds only what this script makes, so `ss` inside it is an exact witness:

- a listener of this script's own, on 127.0.0.1;
- a destination listener, with CONNECTIONS connections to it from this script;
- a listener with backlog 1 that never accepts, its queue filled (the kernel drops more);
- `portscope serve` on 127.0.0.1, polling every second;
- Prometheus (Debian's), on 127.0.0.1, scraping it every second with the shipped alert
  rules loaded, its data in a temporary directory.

It waits until Prometheus has the script's listener, then asks Prometheus's HTTP API
what a user would, and `ss` what the answers should be; one JSON document on stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
RULES = TESTS.parent / "tui" / "portscope" / "exporter" / "portscope.rules.yml"
DEADLINE = 60.0
"""Seconds Prometheus may take to come up and scrape: a failure bound, not a timing."""
CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: portscope
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listener(backlog: int = 128) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    return sock


def api(port: int, path: str, **params: str) -> Any:
    query = urllib.parse.urlencode(params)
    url = f"http://127.0.0.1:{port}{path}" + (f"?{query}" if query else "")
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


def vector(port: int, query: str) -> list[dict[str, Any]]:
    """An instant query's result: [{"metric": {...}, "value": [time, "text"]}]."""
    answer = api(port, "/api/v1/query", query=query)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]  # type: ignore[no-any-return]


def until(what: str, ask: Any) -> Any:
    """ask() until it returns something truthy; exceptions (not up yet) count as no."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            found = ask()
            if found:
                return found
        time.sleep(0.25)
    raise TimeoutError(f"never got {what}")


@contextlib.contextmanager
def running(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`argv` until the block ends, its output in `log`."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ss_witness(destination: int) -> dict[str, int]:
    """The budget and ports in use towards 127.0.0.1:`destination`, by the rules of
    analysis/pressure.py, from `ss` and the namespace's sysctls alone."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    reserved = Path("/proc/sys/net/ipv4/ip_local_reserved_ports").read_text().strip()
    assert reserved == "", "a fresh namespace reserves nothing"
    listening = {
        int(line.split()[3].rpartition(":")[2])
        for line in subprocess.run(
            ["ss", "-ltnH"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
    }
    connections = subprocess.run(
        ["ss", "-tanH", "dst", f"127.0.0.1:{destination}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    in_use = {int(line.split()[3].rpartition(":")[2]) for line in connections}
    in_range = {port for port in in_use if low <= port <= high and port not in listening}
    pinned = {port for port in listening if low <= port <= high}
    return {"in_use": len(in_range), "budget": high - low + 1 - len(pinned)}


def main(connections: int) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    own = listener()
    target = listener()
    held = []
    for _ in range(connections):
        client = socket.create_connection(target.getsockname(), timeout=10)
        held += [client, target.accept()[0]]
    jammed = listener(backlog=1)
    for _ in range(3):
        client = socket.socket()
        client.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            client.connect(jammed.getsockname())
        held.append(client)
    exporter, prometheus = free_port(), free_port()
    with tempfile.TemporaryDirectory() as where:
        work = Path(where)
        (work / "prometheus.yml").write_text(CONFIG.format(rules=RULES, exporter=exporter))
        serve = [sys.executable, "-m", "portscope", "serve", "--listen", f"127.0.0.1:{exporter}"]
        server = [
            "prometheus",
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{prometheus}",
        ]
        with (
            running([*serve, "--interval", "1"], work / "serve.log"),
            running(server, work / "prometheus.log"),
        ):
            own_port, target_port = own.getsockname()[1], target.getsockname()[1]
            try:
                seen = until(
                    "the script's listener, through Prometheus",
                    lambda: vector(prometheus, f'portscope_listener_info{{port="{own_port}"}}'),
                )
                pressure = {
                    name: vector(prometheus, f'{name}{{remote_port="{target_port}"}}')
                    for name in (
                        "portscope_destination_pressure_ratio",
                        "portscope_destination_ephemeral_ports_in_use",
                        "portscope_destination_ephemeral_ports_budget",
                    )
                }
                jammed_port = jammed.getsockname()[1]
                jam = f'portscope_listener_accept_queue_fill_ratio{{port="{jammed_port}"}}'
                queue = until("the jammed queue", lambda: vector(prometheus, jam))
                alerts = until(
                    "a pending alert",
                    lambda: api(prometheus, "/api/v1/alerts")["data"]["alerts"],
                )
                rules = api(prometheus, "/api/v1/rules")["data"]["groups"]
            except TimeoutError:
                for log in ("serve.log", "prometheus.log"):
                    sys.stderr.write((work / log).read_text(errors="replace")[-4000:])
                raise
            witness = ss_witness(target_port)
    result = {
        "own_port": str(own_port),
        "own_comm": Path("/proc/self/comm").read_text().strip(),
        "own_netns": os.stat("/proc/self/ns/net").st_ino,
        "listener": seen,
        "pressure": pressure,
        "witness": witness,
        "queue": queue,
        "alerts": alerts,
        "rules": [
            {"name": rule["name"], "health": rule["health"]}
            for group in rules
            for rule in group["rules"]
        ],
    }
    json.dump(result, sys.stdout)
    for sock in [*held, own, target, jammed]:
        sock.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
