"""The exporter at server scale: `portscope serve` next to node_exporter, on the same
loopback workload, each scraped every 15 s as Prometheus would, printed as one table.

Runs in a fresh network namespace (as root), so both see exactly the workload's sockets.
Per exporter: CPU over a window of scrapes at the scrape interval (portscope polls on
that interval too, node_exporter collects on each scrape), one scrape's latency (the
median of back-to-back scrapes), and the size of one exposition. node_exporter runs its
netstat collector alone (/proc/net/netstat and snmp counters: no per-socket work, the
floor), then its tcpstat collector alone (connections per state: per-socket work,
portscope_connections' counterpart); it is skipped if Debian's
prometheus-node-exporter is not installed.

    python benchmarks/exporter.py [--sockets 20000] [--churn 200] [--window 60] [--repeat 20]
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent / "tui"
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from loopback_load import LoopbackLoad  # noqa: E402
from measure import IN_NAMESPACE, cpu_seconds, in_own_namespace, load_average, peak_rss_mb  # noqa: E402
from run import Parser, machine  # noqa: E402

SCRAPE_INTERVAL = 15.0
READY_TIMEOUT = 120.0
NODE_EXPORTER = "prometheus-node-exporter"
POLL_HISTOGRAM = "portscope_poll_duration_seconds"


@dataclass(frozen=True, slots=True)
class Figures:
    exporter: str
    cpu: float
    latency: float
    size: int
    gzipped: int
    series: int
    rss: float
    polls: tuple[int, float] | None
    """Polls within the CPU window and their mean duration (portscope only)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return answer.read()  # type: ignore[no-any-return]


def until_up(url: str) -> bytes:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return get(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def measured(
    name: str, argv: Sequence[str], port: int, window: float, repeat: int, env: dict[str, str]
) -> Figures:
    """Start an exporter, scrape it every SCRAPE_INTERVAL for `window` seconds (its CPU),
    then `repeat` times back to back (the latency); one body gives the sizes."""
    url = f"http://127.0.0.1:{port}/metrics"
    process = subprocess.Popen(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        first = until_up(url).decode()  # portscope's first scrape waits for its cold poll
        before, started = cpu_seconds(process.pid), time.monotonic()
        scrapes = max(1, round(window / SCRAPE_INTERVAL))
        for index in range(scrapes):
            time.sleep(max(0.0, started + (index + 1) * SCRAPE_INTERVAL - time.monotonic()))
            last = get(url).decode()
        cpu = (cpu_seconds(process.pid) - before) / (time.monotonic() - started)
        latencies = []
        for _ in range(repeat):
            began = time.perf_counter()
            body = get(url)
            latencies.append(time.perf_counter() - began)
        samples = [line for line in body.decode().splitlines() if line[:1] not in ("", "#")]
        return Figures(
            exporter=name,
            cpu=cpu,
            latency=statistics.median(latencies),
            size=len(body),
            gzipped=len(gzip.compress(body)),
            series=len(samples),
            rss=peak_rss_mb(process.pid),
            polls=polls_between(first, last),
        )
    finally:
        process.terminate()
        process.wait(timeout=60)


def poll_totals(text: str) -> tuple[float, float] | None:
    """(seconds, polls) so far, from portscope's own poll duration histogram."""
    found = dict(line.split()[:2] for line in text.splitlines() if line.startswith(POLL_HISTOGRAM))
    if not found:
        return None
    return float(found[f"{POLL_HISTOGRAM}_sum"]), float(found[f"{POLL_HISTOGRAM}_count"])


def polls_between(first: str, last: str) -> tuple[int, float] | None:
    """How many polls ran in the window, and their mean duration."""
    start, end = poll_totals(first), poll_totals(last)
    if start is None or end is None or end[1] == start[1]:
        return None
    return int(end[1] - start[1]), (end[0] - start[0]) / (end[1] - start[1])


def export_cost(repeat: int) -> float:
    """Median seconds `LatestMetrics.record` takes to turn one 20k-socket poll into
    metric families (the analysis, then the families), in this process."""
    sys.path.insert(0, str(TREE))
    from prometheus_client import CollectorRegistry

    from portscope.collect import Collector
    from portscope.exporter.latest import LatestMetrics
    from portscope.exporter.settings import ExportSettings

    collector, latest = Collector(), LatestMetrics(CollectorRegistry(), ExportSettings())
    took = []
    for _ in range(repeat):
        snapshot = collector.collect()
        began = time.perf_counter()
        latest.record(snapshot)
        took.append(time.perf_counter() - began)
    return statistics.median(took)


def render(rows: Sequence[Figures], interval: float) -> str:
    lines = [
        f"| exporter | CPU at {interval:g} s scrapes | one scrape (median) | exposition | "
        "gzipped | series | peak RSS | polls in the window, mean |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.exporter} | {r.cpu * 100:.2f} % of a core | {r.latency * 1000:.1f} ms | "
        f"{r.size / 1024:.1f} KiB | {r.gzipped / 1024:.1f} KiB | {r.series} | {r.rss:.0f} MB | "
        f"{'-' if r.polls is None else f'{r.polls[0]}, {r.polls[1] * 1000:.0f} ms'} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=20_000)
    parser.add_argument("--churn", type=float, default=200.0, help="connections replaced per s")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--window", type=float, default=120.0, help="seconds of scrapes for CPU")
    parser.add_argument("--repeat", type=int, default=20, help="scrapes timed back to back")
    parser.add_argument("--host-namespace", action="store_true", help="do not unshare --net")
    args = parser.parse_args(argv)
    nested = None if args.host_namespace else in_own_namespace(Path(__file__), argv)
    if nested is not None:
        return nested
    namespace = "own network namespace" if os.environ.get(IN_NAMESPACE) else "host namespace"
    env = {**os.environ, "PYTHONPATH": str(TREE)}
    load_before = load_average()
    rows = []
    with LoopbackLoad(args.sockets, churn=args.churn, workers=args.workers):
        port = free_port()
        serve = [sys.executable, "-m", "portscope", "serve", "--listen", f"127.0.0.1:{port}"]
        serve += ["--interval", f"{SCRAPE_INTERVAL:g}"]
        print("  measuring portscope serve ...", file=sys.stderr, flush=True)
        rows.append(measured("portscope serve", serve, port, args.window, args.repeat, env))
        if shutil.which(NODE_EXPORTER):
            for collector in ("netstat", "tcpstat"):
                port = free_port()
                node = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"]
                node += ["--collector.disable-defaults", f"--collector.{collector}"]
                print(f"  measuring node_exporter {collector} ...", file=sys.stderr, flush=True)
                name = f"node_exporter, {collector} collector only"
                rows.append(measured(name, node, port, args.window, args.repeat, env))
        print("  measuring the export of one poll ...", file=sys.stderr, flush=True)
        export = export_cost(args.repeat)
    churn = f" + {args.churn:g} conn/s churn" if args.churn else ""
    print(f"Machine: {machine()}; {namespace}.")
    print(f"Load average (1/5/15 min) before: {load_before}; after: {load_average()}.")
    print(f"Workload: {args.sockets:,} loopback sockets{churn}.")
    print()
    print(render(rows, SCRAPE_INTERVAL))
    print()
    print(f"Turning one poll into metrics (analysis and families), median: {export * 1000:.0f} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
