"""Run `netns_scenario.py` inside a fresh network namespace, or say why that is not possible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conftest import cli_env

SCENARIO = Path(__file__).with_name("netns_scenario.py")


@cache
def netns_refusal() -> str | None:
    """Why this machine cannot give a test its own network namespace; None if it can."""
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare (util-linux) and ip (iproute2)"
    done = subprocess.run(
        ["unshare", "--net", "ip", "link", "set", "lo", "up"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if done.returncode != 0:
        return f"unshare --net is not permitted here: {done.stderr.strip()}"
    return None


needs_netns = pytest.mark.skipif(netns_refusal() is not None, reason=str(netns_refusal()))


def run_in_netns(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python script ARGS` inside a fresh network namespace; it must succeed."""
    done = subprocess.run(
        ["unshare", "--net", sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def run_scenario(**spec: Any) -> dict[str, Any]:
    """Build `spec` in a new namespace (see netns_scenario.py) and return what it saw."""
    return json.loads(run_in_netns(SCENARIO, json.dumps(spec)).stdout)
