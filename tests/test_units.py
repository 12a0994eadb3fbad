"""A host process's systemd unit, from its cgroup, in every output: the JSON's `unit`,
the table's IN column, the `unit:` filter, the Listening pane's process cell and the
process details; a unit named like markup stays text on screen."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cgroup_support import needs_a_unit, needs_hand_made_cgroups, process_in_unit
from conftest import run_portscope, snapshot_json
from demo.scenes import open_process
from namespace_support import unique_name
from portscope.config import Config
from portscope.sanitise import printable
from portscope.ui.app import PortscopeApp
from ui_support import row_on_screen, screen_lines, until

LISTEN = (
    "import socket, time\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
    "print(s.getsockname()[1], flush=True); time.sleep(300)\n"
)
HOSTILE = "[@click=app.quit]x[bold red]"


@pytest.fixture
def in_unit(request: pytest.FixtureRequest) -> Iterator[tuple[int, int, str]]:
    """A loopback listener held by a process in a unit: its pid, port and unit name."""
    name = f"{getattr(request, 'param', '')}{unique_name()}"
    with process_in_unit(name, (sys.executable, "-c", LISTEN)) as (child, unit):
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield child.pid, port, unit


@needs_a_unit
@pytest.mark.root
def test_a_host_process_is_named_by_its_unit_in_every_script(
    in_unit: tuple[int, int, str],
) -> None:
    pid, port, unit = in_unit
    doc = snapshot_json()
    (listening,) = [r for r in doc["listening"] if r["port"] == port]
    assert (listening["pid"], listening["unit"], listening["container"]) == (pid, unit, None)
    done = run_portscope("snapshot")
    (line,) = [line for line in done.stdout.splitlines() if f"127.0.0.1:{port} " in line]
    assert f" {unit} " in f"{line} "
    chosen = snapshot_json("--filter", f"unit = {unit}")
    assert {r["port"] for r in chosen["listening"]} == {port}
    assert snapshot_json("--filter", f"unit != {unit} and sport = {port}")["listening"] == []


@needs_hand_made_cgroups
@pytest.mark.root
@pytest.mark.parametrize("in_unit", [HOSTILE], indirect=True)
async def test_a_unit_named_like_markup_stays_text_on_screen(
    tmp_path: Path, in_unit: tuple[int, int, str]
) -> None:
    pid, port, unit = in_unit
    assert unit.startswith(HOSTILE)  # the kernel took the name as typed
    app = PortscopeApp(interval=60.0, config=Config(), config_file=tmp_path / "config.toml")
    async with app.run_test(size=(200, 40)) as pilot:
        table = app.listening.table
        row = await row_on_screen(pilot, app, port)
        owner = row.payload.owner
        assert owner is not None and owner.pid == pid
        assert row.cell("process") == f"{owner.name} ({printable(unit, 40)})"
        assert row.cell("process").startswith(f"{owner.name} ({HOSTILE}")
        await pilot.press("slash", *f"sport = {port}", "enter")  # its row on screen,
        await until(pilot, lambda: len(table.model) == 1)  # however many namespaces
        drawn = HOSTILE[: HOSTILE.index("[", 1) + 1]  # the name cut to its cell still holds markup
        assert any(f"({drawn}" in line for line in screen_lines(app))  # drawn as typed
        screen = await open_process(pilot, port)
        facts = "\n".join(str(w.render()) for w in screen.query("#process-facts"))
        assert f"unit     {unit}" in facts
        assert app.return_code is None
