"""`make bench` at toy scale: every requested figure gets a row, measured or honestly n/a."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TREE

RUN = TREE / "benchmarks" / "run.py"
ROW = re.compile(r"^\|" + r" ([^|]+) \|" * 4)
SMALL = ("--sockets", "200", "--churn", "10", "--repeat", "1")

pytestmark = pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")


def bench(*args: str, tree: Path = TREE / "tui") -> list[dict[str, str]]:
    done = subprocess.run(
        [sys.executable, str(RUN), *SMALL, "--tree", str(tree), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cells = [m.groups() for line in done.stdout.splitlines() if (m := ROW.match(line))]
    rows = [dict(zip(("figure", "ours", "base", "ratio"), c, strict=True)) for c in cells]
    return [r for r in rows if r["figure"] != "figure" and not r["figure"].startswith("-")]


def test_collector_figures_stand_next_to_ss() -> None:
    rows = bench("--only", "cold,steady")
    assert [r["figure"].split()[0] for r in rows] == ["cold", "steady"]
    for row in rows:
        assert re.fullmatch(r"\d+ ms", row["ours"].strip())
        assert re.fullmatch(r"\d+ ms", row["base"].strip())
        assert re.fullmatch(r"\d+\.\d\dx", row["ratio"].strip())


def test_figures_without_a_subject_say_so(tmp_path: Path) -> None:
    headless = tmp_path / "tui"
    shutil.copytree(TREE / "tui" / "portscope", headless / "portscope")
    shutil.rmtree(headless / "portscope" / "ui", ignore_errors=True)
    rows = bench("--only", "delta,keys,rss,rss-default,cpu-small", tree=headless)
    assert len(rows) == 5
    assert "default 2 s interval" in rows[3]["figure"]
    assert all(r["ours"].strip() == "n/a (not built)" for r in rows)


def test_unknown_figures_are_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "--only", "nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown figures: nonsense" in done.stderr
