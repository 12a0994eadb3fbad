"""Cost of the namespace building blocks of issue 13, on real processes and namespaces.

Starts PROCESSES idle processes (`sleep`), NAMESPACES of them each in a network
namespace of its own (`unshare --net`), then times, each the median of REPEAT runs:
discovery (every poll will pay it) next to `lsns -t net` doing the same from the
command line; opening one namespace's handle (paid once per namespace); and what a
poll pays per namespace afterwards: a dump through the kept socket, the sockstat check
that can skip the dump of an empty namespace, and a sysctl read through a kept file.
A dump walks the kernel's TCP tables, which every namespace shares, so even an empty
namespace's dump costs in proportion to the TCP sockets of the whole machine: the
dumps are timed again with TCP more loopback sockets held in this script's own
namespace, and each row says how many the machine held. As root, in a namespace of
its own so the load stays out of the host's:

    unshare --net sh -c 'ip link set lo up && PYTHONPATH=tui python benchmarks/namespaces.py'
    [--processes 1000] [--namespaces 100] [--tcp 20000]

With `--spread`, the collector itself: TCP loopback sockets held by 4 workers in this
script's namespace, then the same number held by one worker in each of NAMESPACES
`ip netns` namespaces; for each, the steady poll of a `Collector` reading every
namespace (polled once a second, the dashboard's cadence, each poll's wall time and
thread CPU the median of REPEAT) and a cold `portscope snapshot --json` next to what
a person would run to see the same: `ss -tuanp`, inside every namespace (`ip netns
exec`). With `--dashboard` too, the real dashboard (`portscope --interval 1` in
tmux, as run.py measures it) under each load: its CPU, the issue's "≤ 10 % of a core
at a 1 s interval" target. So that "every namespace" is this script's alone, run it
in its own pid and mount namespaces too, with a /run/netns of its own:

    unshare --net --pid --fork --mount-proc --mount sh -c 'mount -t tmpfs tmpfs \
        /run/netns && ip link set lo up && PYTHONPATH=tui python benchmarks/namespaces.py \
        --spread'
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from figures import measure_dashboard  # noqa: E402
from loopback_load import LoopbackLoad  # noqa: E402
from measure import load_average, run_timed  # noqa: E402
from portscope.collect import Collector  # noqa: E402
from portscope.collect.namespaces import Inventory, Namespace, discover  # noqa: E402
from portscope.collect.netlink import SockDiagReader  # noqa: E402
from portscope.collect.nshandle import NetnsHandle, open_handle  # noqa: E402

IDLE = ["sleep", "3600"]
Row = tuple[str, str, str]
"""figure, portscope, baseline"""


def median_ms(job: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        job()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def machine_tcp_sockets() -> int:
    """sockstat's `alloc`: TCP sockets allocated in every namespace together."""
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        words = line.split()
        if words[:1] == ["TCP:"]:
            return int(words[words.index("alloc") + 1])
    return 0


def discovery_rows(repeat: int) -> list[Row]:
    inventory = discover()
    processes = len(inventory.netns_of)
    ours = median_ms(discover, repeat)
    lsns = statistics.median(
        run_timed(["lsns", "--type", "net", "--noheadings"]) for _ in range(repeat)
    )
    return [
        (
            f"discover every namespace ({processes} processes, {len(inventory.namespaces)}"
            " namespaces)",
            f"{ours:.1f} ms ({ours * 1000 / processes:.1f} µs a process)",
            f"`lsns -t net` {lsns * 1000:.0f} ms",
        )
    ]


def open_handles(
    inventory: Inventory, namespaces: list[Namespace]
) -> tuple[list[NetnsHandle], Row]:
    started = time.perf_counter()
    handles = [open_handle(inventory, namespace) for namespace in namespaces]
    each = (time.perf_counter() - started) * 1000 / len(handles)
    return handles, (
        "open one namespace's handle (thread, setns, socket, 6 files)",
        f"{each:.2f} ms",
        "-",
    )


def poll_rows(handles: list[NetnsHandle], repeat: int) -> list[Row]:
    """What a poll pays for `handles`, all empty namespaces, at today's machine load."""
    count = len(handles)
    readers = [SockDiagReader(conn=handle.diag) for handle in handles]
    dumps = median_ms(lambda: [reader.read() for reader in readers], repeat)
    checks = median_ms(lambda: [handle.inet_sockets() for handle in handles], repeat)
    ranges = median_ms(
        lambda: [h.read("sys/net/ipv4/ip_local_port_range") for h in handles], repeat
    )
    machine = f"machine holds {machine_tcp_sockets()} TCP sockets"
    return [
        (
            f"dump {count} empty namespaces through kept sockets ({machine})",
            f"{dumps:.1f} ms ({dumps * 1000 / count:.0f} µs each)",
            "-",
        ),
        (f"sockstat check of {count} namespaces ({machine})", f"{checks:.2f} ms", "-"),
        (f"read ip_local_port_range of {count} namespaces", f"{ranges:.2f} ms", "-"),
    ]


POLL_EVERY = 1.0
"""Seconds between the steady polls timed: the dashboard's cadence, so that quiet
namespaces fall due for their refresh as often as they would on screen."""
COLD_REPEAT = 5
PORTSCOPE = [sys.executable, "-m", "portscope"]


@contextmanager
def named_namespaces(count: int) -> Iterator[list[str]]:
    """`count` fresh `ip netns` namespaces with loopback up, deleted afterwards."""
    names = [f"psbench-{os.getpid()}-{i}" for i in range(count)]
    try:
        for name in names:
            subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
            subprocess.run(
                ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
                check=True,
                timeout=30,
            )
        yield names
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


def steady(repeat: int) -> tuple[float, float, float, int, int]:
    """(median wall ms, median thread CPU ms, slowest wall ms, sockets, namespaces read)
    of `repeat` polls a second apart by one Collector of every namespace, after three
    to warm its caches."""
    collector = Collector(namespaces="every")
    for _ in range(3):
        collector.collect()
        time.sleep(POLL_EVERY)
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.thread_time()
        snapshot = collector.collect()
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - started)
        time.sleep(POLL_EVERY)
    read = sum(ns.sockets > 0 for ns in snapshot.namespaces)
    ms = (statistics.median(walls) * 1000, statistics.median(cpus) * 1000, max(walls) * 1000)
    return (*ms, len(snapshot.sockets), read)


def cold_ms(argvs: list[list[str]]) -> float:
    """Median over COLD_REPEAT runs of running every command of `argvs` in turn."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "tui")}
    runs = [sum(run_timed(argv, env) for argv in argvs) for _ in range(COLD_REPEAT)]
    return statistics.median(runs) * 1000


def dashboard_cpu(marker: str) -> str:
    """The share of a core the real dashboard takes at a 1 s interval, in tmux, once
    `marker` is on screen (figures.measure_dashboard), with a config of its own."""
    argv = [*PORTSCOPE, "--interval", "1"]
    with tempfile.TemporaryDirectory(prefix="portscope-bench-config-") as home:
        env = {"PYTHONPATH": str(HERE.parent / "tui"), "TERM": "xterm-256color"}
        cpu = measure_dashboard(argv, {**env, "XDG_CONFIG_HOME": home}, marker)["cpu"]
    return "no data on screen" if cpu is None else f"{cpu * 100:.1f} % of a core"


def cpu_row(load: str, marker: str) -> Row:
    return (
        f"dashboard CPU, 1 s interval, {load}",
        dashboard_cpu(marker),
        "target ≤ 10 % of a core",
    )


def spread_rows(sockets: int, namespaces: int, repeat: int, dashboard: bool) -> list[Row]:
    """One namespace's steady poll and cold snapshot, then the same sockets spread;
    with `dashboard`, the dashboard's CPU under each."""
    snapshot = [*PORTSCOPE, "snapshot", "--json"]
    cpus: list[Row] = []
    with LoopbackLoad(sockets, workers=4) as load:
        one = steady(repeat)
        one_cold = cold_ms([snapshot])
        one_ss = cold_ms([["ss", "-tuanp"]])
        if dashboard:
            cpus.append(cpu_row(f"{sockets:,} sockets in 1 namespace", str(load.ports[0][1])))
    with named_namespaces(namespaces) as names:
        netns_exec = lambda index: ["ip", "netns", "exec", names[index]]  # noqa: E731
        with LoopbackLoad(sockets, workers=namespaces, prefix=netns_exec):
            spread = steady(repeat)
            spread_cold = cold_ms([snapshot])
            spread_ss = cold_ms([[*netns_exec(i), "ss", "-tuanp"] for i in range(namespaces)])
            if dashboard:
                where = f"{sockets:,} sockets over {namespaces} namespaces"
                cpus.append(cpu_row(where, " netns"))  # the header counts them, once read
    ratio = spread[0] / one[0]
    cpu_ratio = spread[1] / one[1]
    return [
        *cpus,
        (
            f"steady poll, {one[3]:,} sockets in 1 namespace (median; slowest)",
            f"{one[0]:.1f} ms, {one[1]:.1f} ms CPU; {one[2]:.0f} ms",
            "-",
        ),
        (
            f"steady poll, {spread[3]:,} sockets over {spread[4]} namespaces (median; slowest)",
            f"{spread[0]:.1f} ms, {spread[1]:.1f} ms CPU; {spread[2]:.0f} ms",
            f"{ratio:.2f}x the one-namespace poll ({cpu_ratio:.2f}x in CPU; target ≤ 1.3x)",
        ),
        (
            "cold `snapshot --json`, 1 namespace",
            f"{one_cold:.0f} ms",
            f"`ss -tuanp` {one_ss:.0f} ms",
        ),
        (
            f"cold `snapshot --json`, {namespaces} namespaces",
            f"{spread_cold:.0f} ms",
            f"`ip netns exec NS ss -tuanp` in each, in turn: {spread_ss:.0f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--tcp", type=int, default=20_000, help="loopback sockets of load")
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--spread", action="store_true", help="time the collector itself")
    parser.add_argument(
        "--dashboard", action="store_true", help="with --spread: the dashboard's CPU too"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("namespaces.py: needs root (unshare --net, setns)")
    if args.spread:
        print(f"load average before: {load_average()}")
        rows = spread_rows(args.tcp, args.namespaces, args.repeat, args.dashboard)
        print(f"load average after: {load_average()}")
        print_rows(rows)
        return
    children = [
        subprocess.Popen(["unshare", "--net", *IDLE] if i < args.namespaces else IDLE)
        for i in range(args.processes)
    ]
    rows: list[Row] = []
    print(f"load average before: {load_average()}")
    try:
        time.sleep(1)  # let every unshare exec its sleep
        rows += discovery_rows(args.repeat)
        inventory = discover()
        mine = {child.pid for child in children[: args.namespaces]}
        made = [ns for ns in inventory.namespaces if mine & set(ns.pids)]
        handles, opening = open_handles(inventory, made)
        rows.append(opening)
        try:
            rows += poll_rows(handles, args.repeat)
            with LoopbackLoad(args.tcp):
                rows += poll_rows(handles, args.repeat)[:2]
        finally:
            for handle in handles:
                handle.close()
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()
    print(f"load average after: {load_average()}")
    print_rows(rows)


def print_rows(rows: list[Row]) -> None:
    print("| figure | portscope | baseline |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} |")


if __name__ == "__main__":
    main()
