"""Drive the real dashboard (real collector, real poller) inside a fresh network namespace.

Run as `unshare --net python netns_dashboard.py SCENARIO` (root). The namespace holds
only the sockets this script makes, so what the panes show can be held against `ss`
exactly. The clock of the dashboard is stopped and moved by hand between polls, so ages
are exact; the sockets are real. The result is one JSON document on stdout.

Scenarios:
  reuse   ip_local_port_range 40000 40001, a listener on 127.0.0.1:5000 that closes
          when its peer does, and a client that keeps one port busy and reconnects on
          the other: every reconnection reuses the 4-tuple (after TIME_WAIT, which
          tcp_tw_reuse allows on loopback). Each step reports the row of that 4-tuple
          and the inode `ss` shows for it.
  closed  twelve connections to 127.0.0.1:5000, five of them then reset (SO_LINGER 0:
          gone from the kernel at once) while their rows linger dimmed; reports the
          Ephemeral pane's title and what `ss` counts.
  overflow a listener on 127.0.0.1:7000 with backlog 1 that never accepts, knocked on
          between two polls; reports the pressure view's kernel section, the header's
          health marker, and /proc/net/netstat's listen counters read here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from demo.scenes import StoppedClock, analysed, next_poll, open_pressure, until
from portscope.config import Config
from portscope.ui.app import PortscopeApp

SYSCTL = "/proc/sys/net/ipv4"
TARGET = ("127.0.0.1", 5000)
OVERFLOW = ("127.0.0.1", 7000)
SETTLE = 5.0
TW_REUSE_WAIT = 1.1
"""tcp_tw_reuse lets connect() take a TIME_WAIT 4-tuple once its last timestamp is a
second old."""
STEP = 5.0
INODE = re.compile(r"\bino:(\d+)")


def prepare(port_range: str) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    Path(f"{SYSCTL}/ip_local_port_range").write_text(f"{port_range}\n", encoding="ascii")


def closing_server() -> socket.socket:
    """A listener on TARGET whose accepted sockets close as soon as their peer does."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(TARGET)
    listener.listen(64)

    def serve() -> None:
        while True:
            accepted, _peer = listener.accept()
            threading.Thread(target=drain, args=(accepted,), daemon=True).start()

    def drain(accepted: socket.socket) -> None:
        with accepted, contextlib.suppress(ConnectionResetError):
            while accepted.recv(4096):
                pass

    threading.Thread(target=serve, daemon=True).start()
    return listener


def connect() -> socket.socket:
    client = socket.create_connection(TARGET, timeout=SETTLE)
    client.settimeout(None)
    return client


def ss_lines() -> list[str]:
    done = subprocess.run(
        ["ss", "-HtanOe", "state", "all"], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.splitlines()


def ss_row(port: int) -> dict[str, Any] | None:
    """ss's view of 127.0.0.1:port -> TARGET: state and inode (0 when it shows none)."""
    for line in ss_lines():
        fields = line.split()
        if fields[3:5] == [f"127.0.0.1:{port}", f"{TARGET[0]}:{TARGET[1]}"]:
            inode = INODE.search(line)
            return {"state": fields[0], "inode": int(inode.group(1)) if inode else 0}
    return None


def wait_for_state(port: int, state: str) -> None:
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        row = ss_row(port)
        if row is not None and row["state"] == state:
            return
        time.sleep(0.01)
    raise SystemExit(f"127.0.0.1:{port} never reached {state}: {ss_row(port)}")


def pane_row(app: PortscopeApp, port: int) -> dict[str, Any] | None:
    """The Ephemeral row of 127.0.0.1:port -> TARGET as drawn: its line and its marks."""
    table = app.ephemeral.table
    for index in range(len(table.model)):
        row = table.model.row_at(index)
        sock = row.payload
        if sock.local_port == port and sock.remote_port == TARGET[1]:
            line = table.render_line(index - int(table.scroll_y) + 1).text
            return {
                "line": line,
                "age": line.split()[-1],
                "state": sock.state,
                "inode": sock.inode or 0,
                "new": row.new,
                "gone": row.gone_at is not None,
            }
    return None


async def reuse(app: PortscopeApp, pilot: Pilot[int], clock: StoppedClock) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []

    async def step(name: str, port: int) -> None:
        clock.advance(STEP)
        await next_poll(pilot)
        steps.append({"step": name, "ss": ss_row(port), "row": pane_row(app, port)})

    first = connect()
    port = first.getsockname()[1]
    keeper = connect()  # holds the other port, so every reconnection reuses `port`
    await next_poll(pilot)
    steps.append({"step": "connected", "ss": ss_row(port), "row": pane_row(app, port)})
    await step("still open", port)
    first.close()
    wait_for_state(port, "TIME-WAIT")
    await step("time wait", port)
    clients = []
    for name in ("reconnected after time wait", "reconnected between polls"):
        if clients:
            clients[-1].close()
            wait_for_state(port, "TIME-WAIT")
        time.sleep(TW_REUSE_WAIT)
        clients.append(connect())
        assert clients[-1].getsockname()[1] == port, "the kernel chose another port"
        wait_for_state(port, "ESTAB")
        await step(name, port)
    await step("later", port)
    keeper.close()
    return {"port": port, "steps": steps}


async def closed(app: PortscopeApp, pilot: Pilot[int], clock: StoppedClock) -> dict[str, Any]:
    clients = [connect() for _ in range(12)]
    await next_poll(pilot)
    for client in clients[:5]:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    clock.advance(1)
    await next_poll(pilot)
    ports = range(40000, 40100)
    live = [
        line
        for line in ss_lines()
        if line.split()[0] != "LISTEN" and int(line.split()[3].rpartition(":")[2]) in ports
    ]
    rows = app.ephemeral.table.model.rows
    result = {
        "title": str(app.ephemeral.border_title),
        "ss_live": len(live),
        "rows": len(rows),
        "gone_rows": sum(1 for row in rows.values() if row.gone_at is not None),
    }
    clock.advance(10)
    app.ephemeral.expire()
    await pilot.pause()
    return {**result, "title_after_expiry": str(app.ephemeral.border_title)}


def netstat() -> dict[str, int]:
    """/proc/net/netstat read here, apart from portscope's reader: `TcpExtName` -> value."""
    lines = Path("/proc/net/netstat").read_text(encoding="ascii").splitlines()
    values = {}
    for names, numbers in zip(lines[::2], lines[1::2], strict=True):
        prefix, *keys = names.split()
        for key, number in zip(keys, numbers.split()[1:], strict=True):
            values[prefix.rstrip(":") + key] = int(number)
    return values


def knock(count: int, kept: list[socket.socket]) -> None:
    """Non-blocking connects to the never-accepting listener on OVERFLOW."""
    for _ in range(count):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            client.connect(OVERFLOW)
        kept.append(client)


async def overflow(app: PortscopeApp, pilot: Pilot[int], clock: StoppedClock) -> dict[str, Any]:
    """A listener with backlog 1 that never accepts, knocked on twelve times between two
    polls: what the pressure view and the header say, and the kernel's counters read
    here before the knocks, after them, and after the poll that saw them."""
    queue = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    queue.bind(OVERFLOW)
    queue.listen(1)
    kept = [queue]
    await next_poll(pilot)
    await analysed(pilot)
    before = netstat()
    knock(12, kept)
    time.sleep(0.5)  # loopback answers at once; let the last SYNs land
    knocked = netstat()
    await next_poll(pilot)
    await analysed(pilot)
    after = netstat()
    screen = await open_pressure(pilot, polls=0)
    names = ("TcpExtListenOverflows", "TcpExtListenDrops")
    result = {
        "kernel": str(screen.kernel.render()),
        "title": str(screen.query_one("#pressure-health").border_title),
        "header": str(app.header.health.render()),
        "rose_by_knocks": {name: knocked[name] - before[name] for name in names},
        "rose_by_poll": {name: after[name] - before[name] for name in names},
    }
    for sock in kept:
        sock.close()
    return result


SCENARIOS = {
    "reuse": ("40000 40001", reuse),
    "closed": ("40000 40099", closed),
    "overflow": ("40000 40099", overflow),
}


async def run(name: str) -> dict[str, Any]:
    port_range, scenario = SCENARIOS[name]
    prepare(port_range)
    listener = closing_server()
    clock = StoppedClock()
    config_file = Path(tempfile.mkdtemp()) / "config.toml"
    app = PortscopeApp(interval=3600.0, clock=clock, config=Config(), config_file=config_file)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.ephemeral.context is not None, tries=500)
        result = await scenario(app, pilot, clock)
    listener.close()
    return result


if __name__ == "__main__":
    json.dump(asyncio.run(run(sys.argv[1])), sys.stdout)
