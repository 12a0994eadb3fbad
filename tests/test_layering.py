"""The headless core never imports textual: checked in fresh interpreters, not by reading code."""

from __future__ import annotations

import json
import pkgutil
import sys
from pathlib import Path

from conftest import SOURCE_ROOT, run_portscope, run_with_tree

UI_PACKAGES = ("portscope.ui",)
"""The Textual layer; everything else in the package is headless."""


def modules_under(path: str, prefix: str) -> list[str]:
    """Module names below one package directory, without importing anything."""
    found = []
    for info in pkgutil.iter_modules([path], prefix):
        if info.name in UI_PACKAGES or info.name.endswith(".__main__"):
            continue
        found.append(info.name)
        if info.ispkg:
            found += modules_under(str(Path(path, info.name.rsplit(".", 1)[-1])), info.name + ".")
    return found


def headless_modules() -> list[str]:
    """Every module outside the Textual layer, found on disk, so a new headless package
    (knowledge, analysis, ...) is covered the day it lands."""
    return ["portscope", *sorted(modules_under(str(SOURCE_ROOT / "portscope"), "portscope."))]


PROBE = """
import importlib, json, sys
offenders = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "textual" in sys.modules and not offenders:
        offenders[name] = sorted(m for m in sys.modules if m.split(".")[0] == "textual")[:3]
print(json.dumps(offenders))
"""


def test_headless_modules_found() -> None:
    modules = headless_modules()
    wanted = {"portscope.model", "portscope.collect", "portscope.poller", "portscope.report"}
    assert wanted <= set(modules)
    assert "portscope.cli.snapshot" in modules


def test_headless_modules_never_import_textual() -> None:
    """Imported one after another in one fresh interpreter; the first one that pulls in
    textual is named."""
    done = run_with_tree([sys.executable, "-c", PROBE, *headless_modules()])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}


def test_snapshot_command_never_imports_textual() -> None:
    """`-X importtime` lists every module the real command imported."""
    done = run_portscope("snapshot", "--json", PYTHONPROFILEIMPORTTIME="1")
    assert done.returncode == 0, done.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "portscope.collect" in imported and "portscope.report.snapshot" in imported
    assert not {m for m in imported if m.split(".")[0] == "textual"}
    assert json.loads(done.stdout)["schema"] == "portscope.snapshot/1"
