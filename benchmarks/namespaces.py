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
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from loopback_load import LoopbackLoad  # noqa: E402
from measure import load_average, run_timed  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--tcp", type=int, default=20_000, help="loopback sockets of load")
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("namespaces.py: needs root (unshare --net, setns)")
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
    print("| figure | portscope | baseline |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} |")


if __name__ == "__main__":
    main()
