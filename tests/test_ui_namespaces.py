"""The real dashboard and the real collector across real network namespaces: two
`ip netns` namespaces each with a listener on 127.0.0.1:8081 are two rows that say
where they live, the `netns` filter field and the narrowing key find them, and the
header counts the namespaces."""

from __future__ import annotations

import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest
from textual.widgets import Static

from conftest import needs_root
from demo.scenes import open_process
from namespace_support import PORT, Held, ip_netns, listener_in
from netns import needs_netns
from portscope.collect import Collector
from portscope.config import Config
from portscope.sanitise import printable
from portscope.ui.app import PortscopeApp
from ui_support import FakeClock, first_frame, next_poll, screen_lines, until

pytestmark = [needs_root, needs_netns, pytest.mark.root]
RANGE_SYSCTL = "net.ipv4.ip_local_port_range"


def two_namespaces(stack: ExitStack) -> list[tuple[str, Held]]:
    names = [stack.enter_context(ip_netns()) for _ in range(2)]
    return [
        (name, stack.enter_context(listener_in(["ip", "netns", "exec", name]))) for name in names
    ]


def app_for(tmp_path: Path) -> PortscopeApp:
    collector = Collector(namespaces="every", rediscover_after=0)
    return PortscopeApp(
        collector.collect, 3600.0, clock=FakeClock(), config=Config(),
        config_file=tmp_path / "config.toml",
    )  # fmt: skip


def listeners_on(app: PortscopeApp, port: int) -> dict[str, str]:
    """netns cell -> process cell of the Listening rows on `port`."""
    table = app.listening.table
    return {
        row.cell("netns"): row.cell("process")
        for row in (table.model.row_at(i) for i in range(len(table.model)))
        if row.payload.local_port == port
    }


async def test_listeners_of_two_namespaces_are_two_rows_named_by_namespace(
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        held = two_namespaces(stack)
        app = app_for(tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await first_frame(pilot)
            await until(pilot, lambda: len(listeners_on(app, PORT)) >= 2)
            mine = {name for name, _ in held}
            assert mine <= set(listeners_on(app, PORT))
            assert "netns" in app.listening.table.visible_columns
            lines = screen_lines(app)
            assert any("address" in line and " netns " in line for line in lines)
            known = len(app.shown.namespaces)
            assert f"{known} netns" in str(app.header.hosts.content)


async def test_the_netns_filter_field_keeps_one_namespace(tmp_path: Path) -> None:
    with ExitStack() as stack:
        (first, _), _second = two_namespaces(stack)
        app = app_for(tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await first_frame(pilot)
            await pilot.press("slash", *f"netns = {first}", "enter")
            await pilot.pause()
            assert set(listeners_on(app, PORT)) == {first}
            assert app.listening.table.model.filtered


async def test_the_netns_key_narrows_every_pane_in_turn_and_back(tmp_path: Path) -> None:
    with ExitStack() as stack:
        held = two_namespaces(stack)
        app = app_for(tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await first_frame(pilot)
            await next_poll(pilot)
            order = [ns.inode for ns in app.shown.namespaces if ns.sockets]
            seen = []
            for _ in order:
                await pilot.press("w")
                await pilot.pause()
                inode = app.listening.netns
                assert app.ephemeral.netns == inode
                rows = app.listening.table.model
                assert all(rows.row_at(i).payload.netns == inode for i in range(len(rows)))
                seen.append(inode)
                name = app.shown.namespace_name(inode)
                assert f"netns {name[:20]}" in str(app.listening.border_title)
            assert seen == order
            mine = {h.inode for _, h in held}
            assert mine <= set(seen)
            await pilot.press("w")
            await pilot.pause()
            assert app.listening.netns is None and app.ephemeral.netns is None
            assert len(listeners_on(app, PORT)) >= 2


async def test_narrowed_the_header_gauges_that_namespaces_range_and_its_process_says_it(
    tmp_path: Path,
) -> None:
    """The ephemeral range is per namespace: narrowed to one (`w`) whose range is
    40000-40999 with 3 ports lent there, the gauge shows those, not the host's; the
    details of a process there name its namespace."""
    with ExitStack() as stack:
        name = stack.enter_context(ip_netns())
        subprocess.run(
            ["ip", "netns", "exec", name, "sysctl", "-qw", f"{RANGE_SYSCTL}=40000 40999"],
            check=True, timeout=30,
        )  # fmt: skip
        held = stack.enter_context(listener_in(["ip", "netns", "exec", name]))
        lent = {held.connect(), held.connect()}
        assert all(40000 <= port <= 40999 for port in lent)
        app = app_for(tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await first_frame(pilot)
            await next_poll(pilot)
            host = app.shown.ephemeral_range
            for _ in app.shown.namespaces:
                if app.listening.netns == held.inode:
                    break
                await pilot.press("w")
                await pilot.pause()
            assert app.listening.netns == held.inode
            assert str(app.header.range.content) == f"{printable(name, 24)} ephemeral 40000–40999"
            assert str(app.header.usage.content).endswith(" 3/1,000 (0.3%)")
            screen = await open_process(pilot, PORT)
            facts = str(screen.query_one("#process-facts", Static).render())
            assert f"netns    {printable(name, 60)}" in facts
            await pilot.press("escape")
            while app.listening.netns is not None:
                await pilot.press("w")
                await pilot.pause()
            assert str(app.header.range.content) == f"ephemeral {host.low}–{host.high}"
