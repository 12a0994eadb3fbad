"""`make run` and `make test` install only for a new venv or a changed pyproject.toml, so
with the venv complete they need no package index. Asked of make itself (`-n` prints
what it would run, `-t` marks targets done as a finished recipe would), on a real venv
of the test's own: nothing is installed, nothing in the tree is touched."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TREE

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make here")


def make(venv: Path, *args: str) -> list[str]:
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(TREE), f"VENV={venv}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def installs(plan: list[str]) -> list[str]:
    return [line for line in plan if "pip install" in line]


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")],
        check=True,
        timeout=60,
    )
    return tmp_path / "venv"


def test_make_run_installs_once_then_runs_what_is_installed(venv: Path) -> None:
    assert installs(make(venv, "-n", "run")) == [f"{venv}/bin/python -m pip install --quiet -e ."]
    make(venv, "-t", "run")  # as after a first `make run`
    assert make(venv, "-n", "run") == [f"{venv}/bin/portscope"]
    assert make(venv, "-n", "run") == [f"{venv}/bin/portscope"]
    changed = make(venv, "-n", "-W", "pyproject.toml", "run")
    assert installs(changed) == [f"{venv}/bin/python -m pip install --quiet -e ."]


def test_make_test_installs_the_test_extras_once(venv: Path) -> None:
    first = installs(make(venv, "-n", "test"))
    assert first[-1] == f"{venv}/bin/python -m pip install --quiet -e '.[test]'"
    make(venv, "-t", "test")  # as after a first `make test`
    assert make(venv, "-n", "test") == [
        f"{venv}/bin/ruff check .",
        f"PYTHONPATH=tui {venv}/bin/lint-imports",
        f"{venv}/bin/python -m pytest",
    ]
    assert installs(make(venv, "-n", "run")) == [], "the test install is a complete one"
    assert installs(make(venv, "-n", "-W", "pyproject.toml", "test"))
