"""Instructions a cold snapshot and a dashboard start run, counted by callgrind: figures
that do not move with the machine's load, for deciding on a machine others share.

    python benchmarks/instructions.py [--tree DIR] [--sockets 20000] [--only cold,start]

User-space instructions only (what the kernel does for a dump is not in them), on a
workload without churn (valgrind runs ~50x slower, so churn would differ from run to
run), in a network namespace of its own as `run.py`'s. `start` runs the dashboard in
tmux until its first poll is on screen (the start-up hold's release) and exits there;
it counts the dashboard's own process, not the owner search it forks. Each figure
takes about a minute.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from loopback_load import LoopbackLoad  # noqa: E402
from measure import compile_tree, in_own_namespace  # noqa: E402
from tmux import TmuxApp  # noqa: E402

TIMEOUT = 600.0
COLLECTED = re.compile(r"^==(\d+)== Collected : (\d+)$", re.MULTILINE)
PARENT = re.compile(r"^==\d+== Parent PID: (\d+)$", re.MULTILINE)
FIRST_FRAME_EXIT = """
import importlib, os, sys
for name in ("portscope.view.lifecycle", "portscope.ui.startup_gc"):  # after, before issue 12
    try:
        hold = importlib.import_module(name).StartupHold
        break
    except ImportError:
        continue
hold.release = lambda self: os._exit(0)
from portscope.cli import main
sys.exit(main(sys.argv[1:]))
"""


def callgrind(log_dir: Path) -> list[str]:
    return [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        f"--log-file={log_dir}/log.%p",
    ]


def counted(log_dir: Path) -> int:
    """The instructions of the process whose parent valgrind did not log (the command
    itself, not a child it forked; a child still running when the dashboard exited is
    killed with its session and counts nothing)."""
    logs, parents = {}, {}
    for log in log_dir.glob("log.*"):
        text = log.read_text()
        pid = log.name.removeprefix("log.")
        parents[pid] = next(iter(PARENT.findall(text)), "")
        for _pid, count in COLLECTED.findall(text):
            logs[pid] = int(count)
    (count,) = [count for pid, count in logs.items() if parents[pid] not in parents]
    return count


def cold(tree: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="portscope-callgrind-") as logs:
        argv = [*callgrind(Path(logs)), sys.executable, "-m", "portscope", "snapshot", "--json"]
        subprocess.run(
            argv, env={"PYTHONPATH": str(tree)}, stdout=subprocess.DEVNULL, check=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        return counted(Path(logs))


def start(tree: Path) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="portscope-callgrind-") as logs,
        tempfile.TemporaryDirectory(prefix="portscope-bench-config-") as config_home,
    ):
        argv = [*callgrind(Path(logs)), sys.executable, "-c", FIRST_FRAME_EXIT, "--interval", "1"]
        env = {"PYTHONPATH": str(tree), "TERM": "xterm-256color", "XDG_CONFIG_HOME": config_home}
        with TmuxApp(argv, env) as app:
            deadline = time.monotonic() + TIMEOUT
            while Path(f"/proc/{app.pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.5)
        return counted(Path(logs))


FIGURES = {"cold": cold, "start": start}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=HERE.parent / "tui")
    parser.add_argument("--sockets", type=int, default=20_000)
    parser.add_argument("--only", default=",".join(FIGURES), help="comma list of cold, start")
    args = parser.parse_args(argv)
    wanted = [name for name in args.only.split(",") if name]
    if unknown := set(wanted) - FIGURES.keys():
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    nested = in_own_namespace(Path(__file__), argv)
    if nested is not None:
        return nested
    tree = args.tree.resolve()
    compile_tree(tree)
    with LoopbackLoad(args.sockets, churn=0.0):
        for name in wanted:
            print(f"{name}: {FIGURES[name](tree) / 1e9:.2f} G instructions ({tree})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
