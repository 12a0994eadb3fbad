"""What tcp_info costs (issue 14) at 20,000 sockets: a steady poll with it against
without, the dump's share of the difference, the traffic tracker's work per poll, and
a cold `snapshot --json` (which asks for it unless `--no-traffic`) against `ss`.

Re-runs itself in a fresh network namespace as root (as run.py does), so the dumps
hold the workload's sockets and nothing else. Each round polls three Pollers in turn,
half a second apart and in turned-about order: one with tcp_info, one without, and a
second one without, whose ratio to the first is the machine's noise floor at the time.
A ratio is the median of the rounds' ratios, each between that round's medians, so a
load that changed between rounds cancels; their spread is beside it (the machine is
shared and noisy). Times are wall clock, and thread CPU where it says so.

    python benchmarks/traffic.py [--sockets 20000] [--churn 200] [--rounds 5] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent / "tui"
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(TREE)]

from loopback_load import LoopbackLoad  # noqa: E402
from measure import IN_NAMESPACE, in_own_namespace, load_average, run_timed  # noqa: E402
from portscope.analysis.traffic import TrafficTracker  # noqa: E402
from portscope.collect import Collector  # noqa: E402
from portscope.collect.netlink import SockDiagReader  # noqa: E402
from portscope.model import Snapshot  # noqa: E402
from portscope.poller import Poller  # noqa: E402
from run import machine  # noqa: E402

TARGET = 1.3
Samples = dict[str, list[float]]
KINDS = ("without", "again without", "with")
"""The Pollers of a round: `again without` is a second one like the first, whose ratio
to it is the noise floor of this machine at the time (the two should be alike)."""


def timed(job: Callable[..., object], *args: object) -> tuple[float, float]:
    """Wall and thread CPU seconds of one call."""
    started, cpu = time.perf_counter(), time.thread_time()
    job(*args)
    return time.perf_counter() - started, time.thread_time() - cpu


def recorded(collect: Callable[[], Snapshot], cpu: list[float]) -> Callable[[], Snapshot]:
    """`collect`, recording the CPU time of its thread (the poller's worker) each call."""

    def run() -> Snapshot:
        started = time.thread_time()
        snapshot = collect()
        cpu.append(time.thread_time() - started)
        return snapshot

    return run


async def one_round(repeat: int, interval: float, samples: Samples) -> None:
    """`repeat` polls of each Poller, their order turned about each time (ABC, CBA) so
    that neither always follows the other; the dumps alone likewise; and the tracker
    following the polls with tcp_info."""
    pollers = {
        kind: Poller(
            recorded(Collector(tcp_info=kind == "with").collect, samples[f"collect cpu {kind}"]),
            interval,
        )
        for kind in KINDS
    }
    tracker = TrafficTracker()
    for _ in range(2):
        for poller in pollers.values():
            await poller.poll_once()
    for kind in KINDS:
        samples[f"collect cpu {kind}"].clear()
    first = pollers["with"].latest
    assert first is not None
    samples["tracker, every connection new"].append(timed(tracker.update, first)[1])
    readers = {kind: SockDiagReader(tcp_info=kind == "with") for kind in KINDS}
    for reader in readers.values():
        reader.read()
    for turn in range(repeat):
        order = KINDS if turn % 2 == 0 else KINDS[::-1]
        for kind in order:
            await asyncio.sleep(interval / 2)
            started = time.perf_counter()
            await pollers[kind].poll_once()
            samples[f"poll {kind}"].append(time.perf_counter() - started)
        held = turn % 2 == 1  # every other update with the collector held off
        if held:
            gc.disable()
        spent = timed(tracker.update, pollers["with"].latest)[1]
        gc.enable()
        samples["tracker, steady, gc held" if held else "tracker, steady"].append(spent)
        for kind in order:
            wall, cpu = await asyncio.to_thread(timed, readers[kind].read)
            samples[f"dump {kind}"].append(wall)
            samples[f"dump cpu {kind}"].append(cpu)


def cold(repeat: int, samples: Samples) -> None:
    env = {**os.environ, "PYTHONPATH": str(TREE)}
    for _ in range(repeat):
        command = [sys.executable, "-m", "portscope", "snapshot", "--json"]
        samples["cold snapshot"].append(run_timed(command, env))
        samples["cold snapshot --no-traffic"].append(run_timed([*command, "--no-traffic"], env))
        samples["ss -tuanp"].append(run_timed(["ss", "-tuanp"]))
        samples["ss -tuanpi"].append(run_timed(["ss", "-tuanpi"]))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def ratio_row(
    figure: str, med: dict[str, float], rounds: dict[str, list[float]], name: str, target: str
) -> tuple[str, ...]:
    """A with/without row for the samples named `name with` and `name without`: the
    median of the rounds' ratios (each round's medians against each other, so a load
    that changed between rounds cancels), their spread, and the noise floor's (two
    alike Pollers) likewise."""
    ratio = statistics.median(rounds[name])
    floor = statistics.median(rounds[f"{name} floor"])
    spread = rounds[name]
    verdict = "-" if target == "-" else ("met" if ratio <= TARGET else "MISSED")
    return (
        figure,
        ms(med[f"{name} with"]),
        ms(med[f"{name} without"]),
        f"{ratio:.2f}x (rounds {min(spread):.2f}-{max(spread):.2f}x; noise floor {floor:.2f}x)",
        target,
        verdict,
    )


def table(samples: Samples, rounds: dict[str, list[float]], sockets: int, interval: float) -> str:
    med = {name: statistics.median(values) for name, values in samples.items() if values}
    tracker_share = med["tracker, steady"] / interval * 100
    scale = f"{sockets:,} sockets"
    rows = [
        ratio_row(
            f"steady poll with tcp_info vs without ({scale})", med, rounds, "poll", f"≤ {TARGET}x"
        ),
        ratio_row("the same polls' collect, thread CPU", med, rounds, "collect cpu", "-"),
        ratio_row(
            "the dump alone (kernel, receive, rows, tcp_info cut out)", med, rounds, "dump", "-"
        ),
        ratio_row("the dump alone, thread CPU", med, rounds, "dump cpu", "-"),
        (
            "traffic tracker per poll, following the collector's account (thread CPU)",
            f"{ms(med['tracker, steady'])} ({tracker_share:.1f} % of a core at {interval:g} s); "
            f"{ms(med['tracker, steady, gc held'])} with garbage collection held off",
            "-",
            "-",
            "-",
            "-",
        ),
        (
            "traffic tracker, every connection new (a first poll; thread CPU)",
            ms(med["tracker, every connection new"]),
            "-",
            "-",
            "-",
            "-",
        ),
        (
            "cold `snapshot --json` vs `--no-traffic` / `ss -tuanp` / `ss -tuanpi`",
            ms(med["cold snapshot"]),
            f"{ms(med['cold snapshot --no-traffic'])} / {ms(med['ss -tuanp'])} / "
            f"{ms(med['ss -tuanpi'])}",
            " / ".join(
                f"{med['cold snapshot'] / med[name]:.2f}x"
                for name in ("cold snapshot --no-traffic", "ss -tuanp", "ss -tuanpi")
            ),
            "-",
            "-",
        ),
    ]
    lines = ["| figure | with tcp_info | without | ratio | target | verdict |"]
    lines += ["|---|---|---|---|---|---|", *(f"| {' | '.join(row)} |" for row in rows)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=20_000)
    parser.add_argument("--churn", type=float, default=200.0, help="connections replaced per s")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=7, help="polls of each kind a round")
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    nested = in_own_namespace(Path(__file__), argv)
    if nested is not None:
        return nested
    namespace = "own network namespace" if os.environ.get(IN_NAMESPACE) else "host namespace"
    load_before = load_average()
    samples: Samples = defaultdict(list)
    rounds: dict[str, list[float]] = defaultdict(list)
    with LoopbackLoad(args.sockets, churn=args.churn):
        for number in range(args.rounds):
            print(f"  round {number + 1} of {args.rounds} ...", file=sys.stderr, flush=True)
            this: Samples = defaultdict(list)
            asyncio.run(one_round(args.repeat, args.interval, this))
            for name in ("poll", "collect cpu", "dump", "dump cpu"):
                medians = {kind: statistics.median(this[f"{name} {kind}"]) for kind in KINDS}
                rounds[name].append(medians["with"] / medians["without"])
                rounds[f"{name} floor"].append(medians["again without"] / medians["without"])
            for name, values in this.items():
                samples[name] += values
            cold(max(1, args.repeat // 3), samples)
    print(f"Machine: {machine()}; {namespace}.")
    print(f"Load average (1/5/15 min) before: {load_before}; after: {load_average()}.")
    churn = f", {args.churn:g} conn/s churn" if args.churn else ""
    print(f"{args.rounds} rounds of {args.repeat} polls each{churn}.")
    print()
    print(table(samples, rounds, args.sockets, args.interval))
    return 0


if __name__ == "__main__":
    sys.exit(main())
