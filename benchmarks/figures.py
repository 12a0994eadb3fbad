"""Issue 5's figures, one small function each, every one measured next to its baseline.

A figure whose subject is not built yet (the dashboard) reports "n/a (not built)"
rather than a number. Targets are the issue's; `verdict` says whether one was met.
"""

from __future__ import annotations

import asyncio
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loopback_load import LoopbackLoad
from measure import cpu_seconds, interleaved, peak_rss_mb, run_timed
from tmux import TmuxApp

NOT_BUILT = "n/a (not built)"
KEY_PRESSES = 15
CPU_WINDOW = 30.0
SETTLE = 3.0
FIRST_FRAME_TIMEOUT = 30.0
KEY_TIMEOUT = 3.0
DELTA_ROWS = 20_000
DELTA_CHURN = 1_000
RSS_TARGET = "≤ 120 MB"
RSS_LIMIT = 120.0


@dataclass(frozen=True, slots=True)
class Result:
    figure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    verdict: str


@dataclass
class Bench:
    """What every figure may use: the source tree, the workload and how hard to try."""

    tree: Path
    workload: LoopbackLoad
    repeat: int
    interval: float = 1.0
    dashboards: dict[float | None, dict[str, float | None]] = field(default_factory=dict)
    """Each dashboard start's figures, by the `--interval` it was given (None: none)."""

    @property
    def env(self) -> dict[str, str]:
        from os import environ

        return {**environ, "PYTHONPATH": str(self.tree)}

    @property
    def has_dashboard(self) -> bool:
        return (self.tree / "portscope" / "ui" / "app.py").exists()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def judged(
    figure: str, ours: float, baseline: float | None, target: str, limit: float, unit: Callable
) -> Result:
    """A row whose target is a ratio to the baseline (baseline given) or an absolute limit."""
    if baseline is None:
        return Result(figure, unit(ours), "-", "-", target, "met" if ours <= limit else "MISSED")
    ratio = ours / baseline
    verdict = "met" if ratio <= limit else "MISSED"
    return Result(figure, unit(ours), unit(baseline), f"{ratio:.2f}x", target, verdict)


def not_built(figure: str, target: str, why: str = NOT_BUILT) -> Result:
    return Result(figure, why, "-", "-", target, "n/a")


def cold_snapshot(bench: Bench) -> Result:
    """A fresh `portscope snapshot --json` process against a fresh `ss -tuanp`."""
    ours, theirs = interleaved(
        bench.repeat,
        lambda: run_timed([sys.executable, "-m", "portscope", "snapshot", "--json"], bench.env),
        lambda: run_timed(["ss", "-tuanp"]),
    )
    return judged(
        f"cold `portscope snapshot --json` vs `ss -tuanp` ({bench.workload.sockets:,} sockets)",
        statistics.median(ours),
        statistics.median(theirs),
        "≤ 1.0x",
        1.0,
        ms,
    )


def steady_poll(bench: Bench) -> Result:
    """One poll of a running Poller (collect in its thread, then the Delta) against
    `ss -tanp`, run alternately in the poller's idle time so load changes hit both."""
    from portscope.collect import Collector
    from portscope.poller import Poller

    async def polls() -> tuple[list[float], list[float]]:
        poller = Poller(Collector().collect, bench.interval)
        for _ in range(2):
            await poller.poll_once()
        ours, theirs = [], []
        for _ in range(bench.repeat):
            await asyncio.sleep(bench.interval / 2)
            theirs.append(await asyncio.to_thread(run_timed, ["ss", "-tanp"]))
            await asyncio.sleep(bench.interval / 2)
            started = time.perf_counter()
            await poller.poll_once()
            ours.append(time.perf_counter() - started)
        return ours, theirs

    ours, theirs = asyncio.run(polls())
    churn = f", {bench.workload.churn:g} conn/s churn" if bench.workload.churn else ""
    return judged(
        f"steady poll in the running poller vs `ss -tanp` ({bench.workload.sockets:,}{churn})",
        statistics.median(ours),
        statistics.median(theirs),
        "≤ 0.5x",
        0.5,
        ms,
    )


def delta_apply(bench: Bench) -> Result:
    """1,000 added + 1,000 removed applied to panes holding 20k rows, until repainted."""
    figure = f"apply +{DELTA_CHURN:,}/-{DELTA_CHURN:,} to panes of {DELTA_ROWS:,} rows"
    if not bench.has_dashboard or importlib.util.find_spec("portscope.ui.app") is None:
        return not_built(figure, "≤ 50 ms")
    from delta_apply import time_delta_apply

    took = time_delta_apply(DELTA_ROWS, DELTA_CHURN, bench.repeat)
    return judged(
        figure, took.wall, None, "≤ 50 ms", 0.050, lambda wall: f"{ms(wall)} (CPU {ms(took.cpu)})"
    )


def session(bench: Bench, interval: float | None) -> dict[str, float | None]:
    """The dashboard figures of this workload when started with `--interval interval`
    (None: without it), from one tmux session run on first use."""
    if interval not in bench.dashboards:
        _address, port = bench.workload.ports[0]
        bench.dashboards[interval] = run_dashboard(bench, str(port), interval)
    return bench.dashboards[interval]


def run_dashboard(bench: Bench, marker: str, interval: float | None) -> dict[str, float | None]:
    """One dashboard session in tmux started with `--interval interval` (None: without).

    `marker` is text that appears only once real data is on screen (a workload port).
    The session gets a config directory of its own, empty, so the interval (and every
    other setting) is what the command line says, or the built-in default, never one
    saved by whoever runs the benchmark.
    """
    argv = [sys.executable, "-m", "portscope"]
    if interval is not None:
        argv += ["--interval", f"{interval:g}"]
    with tempfile.TemporaryDirectory(prefix="portscope-bench-config-") as config_home:
        env = {"PYTHONPATH": str(bench.tree), "TERM": "xterm-256color"}
        found = measure_dashboard(argv, {**env, "XDG_CONFIG_HOME": config_home}, marker)
    return found


def measure_dashboard(argv: list[str], env: dict[str, str], marker: str) -> dict[str, float | None]:
    """First frame, CPU, key latency and peak RSS of `argv` run in tmux, in that order."""
    found: dict[str, float | None] = dict.fromkeys(("first_frame", "cpu", "key", "rss"))
    with TmuxApp(argv, env) as app:
        if app.wait_until(lambda text: marker in text, FIRST_FRAME_TIMEOUT, styled=False) is None:
            return found
        found["first_frame"] = time.perf_counter() - app.started
        time.sleep(SETTLE)
        before, started = cpu_seconds(app.pid), time.perf_counter()
        time.sleep(CPU_WINDOW)
        found["cpu"] = (cpu_seconds(app.pid) - before) / (time.perf_counter() - started)
        found["key"] = key_latency(app)
        found["rss"] = peak_rss_mb(app.pid)
    return found


def dashboard_figure(
    bench: Bench,
    interval: float | None,
    name: str,
    figure: str,
    target: str,
    limit: float,
    unit: Callable,
) -> Result:
    """One figure of the dashboard session started with `--interval interval` (None:
    without it)."""
    if not bench.has_dashboard:
        return not_built(figure, target)
    value = session(bench, interval)[name]
    if value is None:
        return not_built(figure, target, "no data on screen")
    return judged(figure, value, None, target, limit, unit)


def percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def megabytes(size: float) -> str:
    return f"{size:.0f} MB"


def scale(bench: Bench) -> str:
    churn = f" + {bench.workload.churn:g} conn/s churn" if bench.workload.churn else ""
    return f"{bench.workload.sockets:,} sockets{churn}"


def cpu(bench: Bench) -> Result:
    limit = 0.10 if bench.workload.sockets > 1000 else 0.01
    return dashboard_figure(
        bench,
        bench.interval,
        "cpu",
        f"dashboard CPU at {bench.interval:g} s interval ({scale(bench)})",
        f"≤ {limit * 100:.0f} % of a core",
        limit,
        percent,
    )


def key_to_screen(bench: Bench) -> Result:
    return dashboard_figure(
        bench,
        bench.interval,
        "key",
        f"key press → screen updated, tmux ({scale(bench)}), median",
        "≤ 100 ms",
        0.100,
        ms,
    )


def peak_rss(bench: Bench) -> Result:
    return dashboard_figure(
        bench,
        bench.interval,
        "rss",
        f"dashboard peak RSS at {bench.interval:g} s interval ({scale(bench)})",
        RSS_TARGET,
        RSS_LIMIT,
        megabytes,
    )


def peak_rss_default_start(bench: Bench) -> Result:
    """The same session started as a user would, without `--interval` (a fresh config)."""
    from portscope.config import Config

    return dashboard_figure(
        bench,
        None,
        "rss",
        f"dashboard peak RSS at the default {Config().interval:g} s interval ({scale(bench)})",
        RSS_TARGET,
        RSS_LIMIT,
        megabytes,
    )


def first_frame(bench: Bench) -> Result:
    return dashboard_figure(
        bench,
        bench.interval,
        "first_frame",
        f"start → first frame with data ({scale(bench)})",
        "≤ 1.0 s",
        1.0,
        ms,
    )


def key_latency(app: TmuxApp) -> float | None:
    """Median time from send-keys to a changed screen, cursor down then up, repeatedly.

    A poll landing inside the window also changes the screen; at a 1 s interval that
    shortens at most a few of the samples, so the median stands.
    """
    took = []
    for press in range(KEY_PRESSES):
        shown = app.screen()
        app.press("Down" if press % 2 == 0 else "Up")
        seconds = app.wait_until(lambda text, shown=shown: text != shown, KEY_TIMEOUT)
        if seconds is not None:
            took.append(seconds)
        time.sleep(0.2)
    return statistics.median(took) if took else None
