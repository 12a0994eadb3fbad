"""Dashboard at server scale: 20,000 sockets with churn, headless, on synthetic snapshots.

Measures what the scale issue sets targets for: applying a 1,000+1,000 delta, key press
to screen change, start to first frame with data, CPU per second of wall time, RSS; and
the CPU at 20k + churn again with the dashboard following traffic (issue 14) against
without: the synthetic source hands over tcp_info (MOVING connections' counters rising)
only while the dashboard switches it on, as the collector does.
Run: `python benchmarks/dashboard.py` (about a minute on 2 cores).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from demo.server import ScriptedSource, demo_snapshot
from portscope.config import Config
from portscope.delta import Delta, carry_index
from portscope.model import Moved, Owner, Snapshot, Socket, TcpInfoTable
from portscope.tcpinfo import KEPT, TcpInfo
from portscope.ui.app import PortscopeApp

SOCKETS = 20_000
CHURN = 1_000
OWNERS = [Owner(10_000 + i, f"worker-{i}", "app", None, 1.0) for i in range(50)]
MOVING = 20
"""One connection in MOVING moves data every poll (1,000 of 20,000); the rest stand still."""


def connection(n: int) -> Socket:
    """The n-th synthetic connection: a distinct 4-tuple on loopback."""
    port = 32768 + n % 28000
    peer = f"127.{(n // 28000) % 250 + 1}.{(n // 250) % 250}.{n % 250 + 1}"
    return Socket("tcp", "ipv4", "127.0.0.1", port, peer, 443, "ESTABLISHED", OWNERS[n % 50])


def scale_snapshot(start: int, taken_at: float) -> Snapshot:
    base = demo_snapshot()
    conns = tuple(connection(n) for n in range(start, start + SOCKETS))
    return replace(base, connections=conns, taken_at=taken_at, host="bench")


def counters(n: int, step: int) -> bytes:
    """The n-th connection's tcp_info at `step`: every MOVING-th one 64 kB further each
    poll in both directions."""
    moved = 64_000 * step if n % MOVING == 0 else 0
    info = TcpInfo(400, 100, 0, 10 * n + moved, 5 * n + moved, n, n, 300, 0, 0, 0, 0)
    return KEPT.pack(*info)


class CarriedSource:
    """Snapshots as the collector makes them: last poll's Socket object again for each
    connection still there, and its account of what it built anew and dropped
    (`Snapshot.moved`) and of the connections whose tcp_info changed (`TcpInfoTable`).
    `tcp_info` says whether to bring tcp_info (switched by the dashboard)."""

    def __init__(self) -> None:
        self.made: dict[int, Socket] = {}
        self.last: Snapshot | None = None
        self.tcp_info = False

    def snapshot(self, start: int, step: int, taken_at: float) -> Snapshot:
        made, last, wanted = self.made, self.last, range(start, start + SOCKETS)
        gone = tuple(made.pop(n) for n in [n for n in made if n < start])
        fresh = [n for n in wanted if n not in made]
        for n in fresh:
            made[n] = connection(n)
        conns = tuple(made[n] for n in wanted)
        table = None
        if self.tcp_info:
            raw = {id(made[n]): counters(n, step) for n in wanted}
            since = last.token if last is not None and last.tcp_info is not None else None
            moving = sorted({n for n in wanted if n % MOVING == 0}.union(fresh))
            changed = [made[n] for n in moving] if since is not None else None
            table = TcpInfoTable(list(conns), raw, changed, since)
        snapshot = replace(
            demo_snapshot(), connections=conns, taken_at=taken_at, host="bench", tcp_info=table
        )
        if last is not None:
            snapshot.account(Moved(last.token, tuple(made[n] for n in fresh), gone))
        self.last = snapshot
        return snapshot


class ChurningSource:
    """Once `churning`, each poll closes 1,000 of the 20k connections and opens 1,000.
    With `carried`, snapshots are made as the collector makes them (`CarriedSource`)."""

    def __init__(self, step: int = 0, carried: CarriedSource | None = None) -> None:
        self.step = step
        self.churning = False
        self.carried = carried
        self.cpu = 0.0

    def __call__(self) -> Snapshot:
        started = time.thread_time()
        self.step += self.churning
        taken_at = 1_790_000_000.0 + self.step
        if self.carried is None:
            snapshot = scale_snapshot(self.step * CHURN, taken_at)
        else:
            snapshot = self.carried.snapshot(self.step * CHURN, self.step, taken_at)
        self.cpu += time.thread_time() - started
        return snapshot


async def measure() -> dict[str, float]:
    snapshots = [scale_snapshot(i * CHURN, 1_790_000_000.0 + i) for i in range(6)]
    source = ChurningSource()
    app = PortscopeApp(source, 60.0, config=Config(), config_file=None)
    results: dict[str, float] = {}
    started = time.perf_counter()
    async with app.run_test(size=(120, 36)) as pilot:
        while app.shown is None:
            await asyncio.sleep(0.005)
        await pilot.pause()
        results["first frame with 20k sockets (s)"] = time.perf_counter() - started

        applies = []
        for i in range(1, 6):
            carry_index(snapshots[i - 1], snapshots[i])  # as the poller does
            delta = Delta.between(snapshots[i - 1], snapshots[i])
            begin = time.perf_counter()
            app.show_snapshot(snapshots[i], delta, app.live.showing.sequence + 1)
            applies.append(time.perf_counter() - begin)
            await pilot.pause()
        results["apply 1k+1k delta to 20k rows, median (ms)"] = 1000 * statistics.median(applies)

        await pilot.press("tab")
        del snapshots[:]
        source.step = 5
        source.churning = True
        app.poller.interval = 1.0
        presses = []
        for key in ["down"] * 30 + ["S", "S"]:
            begin = time.perf_counter()
            await pilot.press(key)
            presses.append(time.perf_counter() - begin)
        results["key press to screen change under churn, median (ms)"] = 1000 * statistics.median(
            presses
        )

        proc = psutil.Process(os.getpid())
        cpu_before, source_before = sum(proc.cpu_times()[:2]), source.cpu
        wall = time.perf_counter()
        await asyncio.sleep(6.0)
        wall = time.perf_counter() - wall
        cpu = sum(proc.cpu_times()[:2]) - cpu_before
        source_cpu = source.cpu - source_before
        results["CPU at 20k, 1k churn/s, 1 s interval, incl. poller diff (% core)"] = (
            100 * (cpu - source_cpu) / wall
        )
        results["  (building the synthetic snapshots, excluded above) (% core)"] = (
            100 * source_cpu / wall
        )
        results["RSS at 20k sockets (MB)"] = proc.memory_info().rss / 1e6
    return results


async def churn_cpu(traffic: bool) -> float:
    """CPU at 20k, 1k churn a second, 1 s interval, with the Ephemeral pane's rate
    columns drawn (120x36): `traffic` says whether the source then brings tcp_info."""
    carried = CarriedSource()

    def switch(wanted: bool) -> None:
        carried.tcp_info = wanted and traffic

    source = ChurningSource(carried=carried)
    app = PortscopeApp(source, 1.0, config=Config(), config_file=None, switch_traffic=switch)
    async with app.run_test(size=(120, 36)) as pilot:
        while app.shown is None:
            await asyncio.sleep(0.005)
        source.churning = True
        await pilot.pause(4.0)
        assert app.live.collecting_traffic
        if traffic:
            report = app.live.traffic
            assert report is not None and report.unavailable is None
        proc = psutil.Process(os.getpid())
        cpu_before, source_before = sum(proc.cpu_times()[:2]), source.cpu
        wall = time.perf_counter()
        await asyncio.sleep(8.0)
        wall = time.perf_counter() - wall
        cpu = sum(proc.cpu_times()[:2]) - cpu_before - (source.cpu - source_before)
        return 100 * cpu / wall


async def idle_cpu() -> float:
    """CPU of the dashboard on the ~20-socket demo server, polling every second."""
    app = PortscopeApp(ScriptedSource([demo_snapshot()]), 1.0, config=Config(), config_file=None)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(1.0)
        proc = psutil.Process(os.getpid())
        before = sum(proc.cpu_times()[:2])
        wall = time.perf_counter()
        await asyncio.sleep(5.0)
        return 100 * (sum(proc.cpu_times()[:2]) - before) / (time.perf_counter() - wall)


def main() -> None:
    results = asyncio.run(measure())
    results["CPU at ~20 sockets, 1 s interval (% of a core)"] = asyncio.run(idle_cpu())
    for traffic in (False, True):
        state = "on" if traffic else "off"
        results[f"CPU at 20k + churn, rate columns drawn, tcp_info {state} (% core)"] = asyncio.run(
            churn_cpu(traffic)
        )
    for name, value in results.items():
        print(f"{name:<60} {value:8.1f}")


if __name__ == "__main__":
    main()
