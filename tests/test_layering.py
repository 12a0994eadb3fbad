"""The headless core and the view model never import textual or rich: checked in fresh
interpreters, not by reading code. `lint-imports` (pyproject.toml) checks the layer order."""

from __future__ import annotations

import json
import pkgutil
import sys
from pathlib import Path

import grimp
import pytest

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


TERMINAL = ("textual", "rich")
"""What the headless modules never import: the terminal's libraries."""
PROBE = f"""
import importlib, json, sys
offenders = {{}}
for name in sys.argv[1:]:
    importlib.import_module(name)
    terminal = sorted(m for m in sys.modules if m.split(".")[0] in {TERMINAL!r})
    if terminal and not offenders:
        offenders[name] = terminal[:3]
print(json.dumps(offenders))
"""


def test_headless_modules_found() -> None:
    modules = headless_modules()
    wanted = {"portscope.model", "portscope.collect", "portscope.poller", "portscope.report"}
    assert wanted <= set(modules)
    assert "portscope.cli.snapshot" in modules
    view = {"portscope.view.rows", "portscope.view.table_model", "portscope.view.health_feed"}
    assert view <= set(modules), "the view model is headless too"


def test_headless_modules_never_import_textual() -> None:
    """Imported one after another in one fresh interpreter; the first one that pulls in
    textual or rich is named."""
    done = run_with_tree([sys.executable, "-c", PROBE, *headless_modules()])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}


@pytest.mark.parametrize(
    ("argv", "must_import"),
    [
        (("snapshot", "--json"), "portscope.report.snapshot"),
        (("lookup", "ssh", "--offline"), "portscope.knowledge"),
        (("check",), "portscope.analysis"),
        (("metrics",), "portscope.exporter.facts"),
        (("close", "--filter", "sport = :1 and dport = :1", "--yes"), "portscope.closing"),
    ],
)
def test_commands_never_import_textual(argv: tuple[str, ...], must_import: str) -> None:
    """`-X importtime` lists every module the real command imported."""
    done = run_portscope(*argv, PYTHONPROFILEIMPORTTIME="1")
    assert done.returncode in (0, 1, 2, 3) and "Traceback" not in done.stderr, done.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert must_import in imported
    assert not {m for m in imported if m.split(".")[0] in TERMINAL}
    assert "asyncio" not in imported, "one-shot commands need not pay for the poller's event loop"
    loaded = "prometheus_client" in imported
    assert loaded == (argv == ("metrics",)), "only the exporter's commands load prometheus_client"


def imported_by(*argv: str) -> set[str]:
    """Every module the real `portscope ARGV` imported (`-X importtime`)."""
    done = run_portscope(*argv, PYTHONPROFILEIMPORTTIME="1")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


NOT_FOR_A_PLAIN_SNAPSHOT = {"re2", "portscope.view.filters", "logging", "portscope.failures"}
"""The filter grammar (and its regex engine) without --filter, logging without a failure."""


def test_a_cold_snapshot_imports_only_what_it_uses() -> None:
    """Every import is paid by every cold `portscope snapshot --json`."""
    assert not imported_by("snapshot", "--json") & NOT_FOR_A_PLAIN_SNAPSHOT
    assert {"re2", "portscope.view.filters"} <= imported_by("snapshot", "--filter", "tcp")


def test_the_dashboard_imports_the_filter_grammar_with_the_first_filter() -> None:
    """The first frame has no filter: importing the UI leaves the grammar and RE2 out."""
    probe = (
        "import json, sys, portscope.ui.app; "
        "print(json.dumps(sorted({'re2', 'portscope.view.filters'} & set(sys.modules))))"
    )
    done = run_with_tree([sys.executable, "-c", probe])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_no_module_imports_itself_through_others() -> None:
    """No import cycle, a package's `__init__` and its own modules included (lint-imports'
    acyclic contract compares sibling packages only)."""
    graph = grimp.build_graph("portscope", cache_dir=None)
    cycles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )
    assert cycles == []
