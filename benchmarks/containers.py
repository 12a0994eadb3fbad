"""What naming containers costs (issue 13): the Docker SDK's import, and one ask of a
runtime's API, each the median of REPEAT runs, next to what a person would run.

Needs a runtime serving the Docker Engine API (as root, for Podman:
`podman system service --time=0 unix:///run/podman/podman.sock`), with the containers
to list already running:

    PYTHONPATH=tui python benchmarks/containers.py [--socket PATH] [--repeat 21]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from measure import load_average  # noqa: E402
from portscope.collect.runtime import Runtimes, ask_api  # noqa: E402

IMPORT_TIME = "import time; t = time.perf_counter(); import {0}; print(time.perf_counter() - t)"


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms"


def timed(job: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        job()
        samples.append(time.perf_counter() - started)
    return samples


def import_seconds(modules: str, repeat: int) -> list[float]:
    """How long importing `modules` takes in a fresh interpreter, as it reports it."""
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", IMPORT_TIME.format(modules)],
                capture_output=True, text=True, check=True, timeout=60,
            ).stdout
        )
        for _ in range(repeat)
    ]  # fmt: skip


def auto_negotiated(path: str) -> object:
    """What `docker.APIClient(version="auto")` costs before and with the list."""
    import docker

    client = docker.APIClient(f"unix://{path}", "auto", 1.0)
    try:
        return client.containers()
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default="/run/podman/podman.sock")
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    listing = ask_api(args.socket, 1.0)
    print(f"{len(listing.containers)} containers, {len(listing.bindings)} published ports")
    print(f"load average before: {load_average()}")
    rows = [
        ("import docker (fresh interpreter)", median_ms(import_seconds("docker", args.repeat))),
        (
            "import http.client, json (a hand-made client's floor)",
            median_ms(import_seconds("http.client, json", args.repeat)),
        ),
        (
            "ask the API as portscope does: GET /_ping, then GET /containers/json",
            median_ms(timed(lambda: ask_api(args.socket, 1.0), args.repeat)),
        ),
        (
            "the SDK's own negotiation (version='auto': GET /version), then the list",
            median_ms(timed(lambda: auto_negotiated(args.socket), args.repeat)),
        ),
        (
            "Runtimes().refresh(): every API socket present, as a first poll",
            median_ms(timed(lambda: Runtimes().refresh(), args.repeat)),
        ),
    ]
    podman = shutil.which("podman")
    if podman and os.geteuid() == 0:
        rows.append(
            (
                "`podman ps --format json` (what a person would run)",
                median_ms(
                    timed(
                        lambda: subprocess.run(
                            [podman, "ps", "--format", "json"],
                            capture_output=True, check=True, timeout=60,
                        ),
                        max(3, args.repeat // 3),
                    )
                ),
            )
        )  # fmt: skip
    print(f"load average after: {load_average()}")
    print("| figure | median |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
