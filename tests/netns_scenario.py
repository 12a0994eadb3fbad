"""Build a socket situation inside a fresh network namespace and report what portscope sees.

Run as `unshare --net python netns_scenario.py '<json spec>'` (root). The namespace has
its own loopback, its own ip_local_port_range and no other sockets, so ten connections
really exhaust a ten-port range and `portscope check` sees only what this script made.
The real CLI runs inside the same namespace while every socket is still open; the
result is one JSON document on stdout.

Spec keys (all optional):
  sysctl {name: value}          net.ipv4 settings of the namespace, e.g.
                                {"ip_local_port_range": "40000 40009", "tcp_tw_reuse": 0}
  extra_listeners [port, ...]   TCP listeners on 127.0.0.1 besides the target on 5000
  connect N                     established connections to 127.0.0.1:5000
  time_wait true                close both sides, client first, so clients sit in TIME_WAIT
  leak N                        connections whose peer closed and this side never does
  leak_during_check true        keep leaking CLOSE_WAIT while `check` runs
  full_queue B                  a listener on 6000 with backlog B that never accepts,
                                filled with B + 1 connections
  overflow N                    a listener on 7000 with backlog 1 that never accepts, and
                                N non-blocking connects to it: the queue overflows
  overflow_during_check true    keep connecting to it while `check` runs
  conntrack true                an iptables rule that makes conntrack track this
                                namespace's connections (before any is made)
  nstat true                    `nstat -asz` just before and after the snapshot
                                (`nstat`, `nstat_after`: name -> value)
  check [args]                  run `portscope check ARGS` and report status and output
Last, one more connect() to the target says whether the kernel would refuse it
(`connect_error`, e.g. "EADDRNOTAVAIL"), after portscope has looked.
"""

from __future__ import annotations

import contextlib
import errno
import json
import socket
import subprocess
import sys
import time
from typing import Any

TARGET = ("127.0.0.1", 5000)
QUEUE_PORT = 6000
OVERFLOW = ("127.0.0.1", 7000)
SYSCTL = "/proc/sys/net/ipv4"
LEAK_PERIOD = 0.05
SETTLE_TIMEOUT = 5.0


def write_sysctl(name: str, value: object) -> None:
    with open(f"{SYSCTL}/{name}", "w", encoding="ascii") as handle:
        handle.write(f"{value}\n")


def listener(port: int, backlog: int = 128) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(backlog)
    return sock


def connect(address: tuple[str, int]) -> socket.socket:
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.settimeout(SETTLE_TIMEOUT)
    client.connect(address)
    return client


def knock(address: tuple[str, int], kept: list[socket.socket]) -> None:
    """A non-blocking connect nobody will accept: its SYNs are dropped once the
    listener's queue is full."""
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        client.connect(address)
    kept.append(client)


def nstat() -> dict[str, int]:
    """The kernel's counters as nstat shows them (absolute, zeros too, history untouched)."""
    done = subprocess.run(["nstat", "-asz"], capture_output=True, text=True, timeout=10, check=True)
    rows = (line.split() for line in done.stdout.splitlines() if not line.startswith("#"))
    return {row[0]: int(row[1]) for row in rows if len(row) >= 2}


def probe(address: tuple[str, int]) -> str | None:
    """Try one more connect(); the errno name if the kernel refuses it."""
    try:
        connect(address).close()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    return None


def leak_one(target: socket.socket, kept: list[socket.socket]) -> None:
    """The peer connects and closes; the accepted side is kept open: CLOSE_WAIT."""
    client = connect(target.getsockname())
    server, _ = target.accept()
    client.close()
    kept.append(server)


def wait_for_close_wait(expected: int) -> None:
    """Until the kernel has moved `expected` sockets to CLOSE_WAIT (state 08)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        with open("/proc/net/tcp", encoding="ascii") as handle:
            rows = handle.read().splitlines()[1:]
        if sum(1 for row in rows if row.split()[3] == "08") >= expected:
            return
        time.sleep(0.01)


def portscope(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "portscope", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=60)
    return {"status": proc.returncode, "stdout": out, "stderr": err}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    for name, value in spec.get("sysctl", {}).items():
        write_sysctl(name, value)
    if spec.get("conntrack"):
        rule = ["iptables", "-A", "INPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"]
        subprocess.run(rule, check=True, timeout=10)
    kept = [listener(port) for port in spec.get("extra_listeners", [])]
    target = listener(TARGET[1])
    kept.append(target)
    pairs = []
    for _ in range(spec.get("connect", 0)):
        client = connect(TARGET)
        pairs.append((client, target.accept()[0]))
    kept.extend(s for pair in pairs for s in pair)
    if spec.get("time_wait"):
        for client, _server in pairs:
            client.close()
        for _client, server in pairs:
            server.close()
    result: dict[str, Any] = {}
    for _ in range(spec.get("leak", 0)):
        leak_one(target, kept)
    wait_for_close_wait(spec.get("leak", 0))
    if "full_queue" in spec:
        backlog = spec["full_queue"]
        queue = listener(QUEUE_PORT, backlog)
        kept.append(queue)
        kept.extend(connect(queue.getsockname()) for _ in range(backlog + 1))
    if "overflow" in spec:
        kept.append(listener(OVERFLOW[1], 1))
        for _ in range(spec["overflow"]):
            knock(OVERFLOW, kept)
        time.sleep(LEAK_PERIOD)  # loopback answers at once; let the last SYNs land
    if spec.get("nstat"):
        result["nstat"] = nstat()
    result["snapshot"] = json.loads(finish(portscope("snapshot", "--json"))["stdout"])
    if spec.get("nstat"):
        result["nstat_after"] = nstat()
    if "check" in spec:
        check = portscope("check", *spec["check"])
        while check.poll() is None and (
            spec.get("leak_during_check") or spec.get("overflow_during_check")
        ):
            if spec.get("leak_during_check"):
                leak_one(target, kept)
            if spec.get("overflow_during_check"):
                knock(OVERFLOW, kept)
            time.sleep(LEAK_PERIOD)
        result["check"] = finish(check)
    result["connect_error"] = probe(TARGET)
    for sock in kept:
        sock.close()
    return result


if __name__ == "__main__":
    json.dump(run(json.loads(sys.argv[1])), sys.stdout)
