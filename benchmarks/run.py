"""`make bench`: every figure of issue 5 next to its baseline, printed as one table.

Runs in a fresh network namespace (as root) so `ss` and portscope see exactly the
workload's sockets, not whatever else the machine is doing; processes are shared, so
owner attribution still walks every process on the machine. Each figure is a small
function in `figures.py`; this file opens the workloads and prints the table.

    python benchmarks/run.py [--sockets 20000] [--churn 200] [--repeat 5] [--only cold,steady]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

HERE = Path(__file__).resolve().parent
TREE = HERE.parent / "tui"
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from figures import (  # noqa: E402
    Bench,
    Result,
    cold_snapshot,
    cpu,
    delta_apply,
    first_frame,
    key_to_screen,
    peak_rss,
    peak_rss_default_start,
    steady_poll,
)
from loopback_load import LoopbackLoad  # noqa: E402
from measure import IN_NAMESPACE, compile_tree, in_own_namespace, load_average  # noqa: E402

SETUP_TIMEOUT = 10.0
Figure = Callable[[Bench], Result]
AT_SCALE: dict[str, Figure] = {
    "cold": cold_snapshot,
    "steady": steady_poll,
    "delta": delta_apply,
    "first-frame": first_frame,
    "keys": key_to_screen,
    "cpu": cpu,
    "rss": peak_rss,
    "rss-default": peak_rss_default_start,
}
SMALL: dict[str, Figure] = {"cpu-small": cpu}
SMALL_SOCKETS = 100


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr and exit status 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        print(f"run.py: {message}", file=sys.stderr)
        raise SystemExit(2)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=20_000)
    parser.add_argument("--churn", type=float, default=200.0, help="connections replaced per s")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5, help="samples per timed figure")
    parser.add_argument("--tree", type=Path, default=TREE, help="source tree to measure")
    parser.add_argument(
        "--only", default="", help=f"comma list of {', '.join([*AT_SCALE, *SMALL])}"
    )
    parser.add_argument("--host-namespace", action="store_true", help="do not unshare --net")
    args = parser.parse_args(argv)
    wanted = {name for name in args.only.split(",") if name}
    unknown = wanted - AT_SCALE.keys() - SMALL.keys()
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    args.wanted = wanted or {*AT_SCALE, *SMALL}
    return args


def machine() -> str:
    memory = Path("/proc/meminfo").read_text().split()[1]
    return (
        f"{os.cpu_count()} cores, {int(memory) / 1024**2:.1f} GiB RAM, "
        f"Linux {platform.release()}, Python {platform.python_version()}"
    )


def render(rows: Sequence[Result]) -> str:
    lines = [
        "| figure | portscope | baseline | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.figure} | {r.ours} | {r.baseline} | {r.ratio} | {r.target} | {r.verdict} |"
        for r in rows
    ]
    return "\n".join(lines)


def measure(
    figures: dict[str, Figure], wanted: set[str], workload: LoopbackLoad, args: argparse.Namespace
) -> list[Result]:
    bench = Bench(tree=args.tree.resolve(), workload=workload, repeat=args.repeat)
    results = []
    for name, figure in figures.items():
        if name in wanted:
            print(f"  measuring {name} ...", file=sys.stderr, flush=True)
            results.append(figure(bench))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    nested = None if args.host_namespace else in_own_namespace(Path(__file__), argv)
    if nested is not None:
        return nested
    sys.path.insert(0, str(args.tree.resolve()))
    compile_tree(args.tree.resolve())
    namespace = "own network namespace" if os.environ.get(IN_NAMESPACE) else "host namespace"
    load_before = load_average()
    rows: list[Result] = []
    if args.wanted & AT_SCALE.keys():
        with LoopbackLoad(args.sockets, churn=args.churn, workers=args.workers) as workload:
            rows += measure(AT_SCALE, args.wanted, workload, args)
    if args.wanted & SMALL.keys():
        with LoopbackLoad(SMALL_SOCKETS, churn=0.0, workers=1) as workload:
            rows += measure(SMALL, args.wanted, workload, args)
    print(f"Machine: {machine()}; {namespace}.")
    print(f"Load average (1/5/15 min) before: {load_before}; after: {load_average()}.")
    print()
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
