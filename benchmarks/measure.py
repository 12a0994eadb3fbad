"""Small measuring tools: wall time of commands, CPU and peak RSS of a running process,
and a benchmark's own network namespace."""

from __future__ import annotations

import compileall
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

COMMAND_TIMEOUT = 120.0
IN_NAMESPACE = "PORTSCOPE_BENCH_NETNS"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def run_timed(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """Seconds one command takes from spawn to exit, its output thrown away."""
    started = time.perf_counter()
    subprocess.run(
        list(argv),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=None if env is None else dict(env),
        timeout=COMMAND_TIMEOUT,
        check=True,
    )
    return time.perf_counter() - started


def median_of(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def interleaved(
    repeat: int, ours: Callable[[], float], theirs: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Alternate the two measurements so load changes hit both alike."""
    mine: list[float] = []
    base: list[float] = []
    for _ in range(repeat):
        mine.append(ours())
        base.append(theirs())
    return mine, base


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's high-water resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmHWM for pid {pid}")


def compile_tree(tree: Path) -> None:
    """Bytecode for the measured tree, as an installed package has it. Where writing it
    is forbidden (PYTHONDONTWRITEBYTECODE, as in some sandboxes and containers) every
    cold run would otherwise pay for compiling the changed modules, ~0.1 s."""
    compileall.compile_dir(str(tree), quiet=1)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def in_own_namespace(script: Path, argv: Sequence[str]) -> int | None:
    """Re-run `script` under `unshare --net` with loopback up; None if we cannot (or
    already are), else its exit status."""
    if os.environ.get(IN_NAMESPACE) or os.geteuid() != 0 or shutil.which("unshare") is None:
        return None
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    inner = f'ip link set lo up && exec {command} "$@"'
    done = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", inner, "bench", *argv],
        env={**os.environ, IN_NAMESPACE: "1"},
        check=False,
    )
    return done.returncode
