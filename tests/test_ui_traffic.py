"""Traffic on the dashboard, end to end: the real app, collector and poller, loopback
transfers this test makes. The Traffic view names the process, its destination and a
nonzero rate; the Ephemeral row's figures are the kernel's (`ss -tin`); a receiver that
stops reading flags its sender's row and the process details explain it; UDP says it has
no counters; tcp_info is asked for only while something on screen shows traffic."""

from __future__ import annotations

import os
import time
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from demo.scenes import demo_app, first_frame, traffic_reported
from demo.traffic import traffic_steps
from portscope.analysis import TrafficReport
from portscope.config import Config
from portscope.model import Socket
from portscope.ui.app import PortscopeApp
from portscope.ui.screens.detail import ProcessScreen
from portscope.ui.screens.pressure import PressureScreen
from portscope.ui.screens.traffic import TrafficScreen
from portscope.view.columns import Row
from portscope.view.traffic_cells import NO_COUNTERS, NO_RATE_YET, rate_text
from sockets import SocketFarm, pour
from ss import ss_tcp_info
from traffic_support import ends, ends_of, settle, unacknowledged
from ui_support import next_poll, until

SENT = 3_000_000
ANSWERED = 40_000
STALL_TIMEOUT = 10.0


def real_app(tmp_path: Path) -> PortscopeApp:
    return PortscopeApp(interval=3600.0, config=Config(), config_file=tmp_path / "config.toml")


async def counted_poll(pilot: Pilot, app: PortscopeApp) -> TrafficReport:
    await next_poll(pilot)
    await traffic_reported(pilot)
    assert app.live.traffic is not None
    return app.live.traffic


def row_of(app: PortscopeApp, sock: Socket | tuple[str, int, str, int]) -> Row:
    wanted = ends_of(sock) if isinstance(sock, Socket) else sock
    rows = app.ephemeral.table.model.rows.values()
    found = [r for r in rows if isinstance(r.payload, Socket) and ends_of(r.payload) == wanted]
    assert len(found) == 1, wanted
    return found[0]


async def test_the_traffic_view_names_the_process_its_destination_and_its_rate(
    tmp_path: Path, farm: SocketFarm
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    ((client, server),) = farm.connect(listener)
    udp = farm.udp_socket("127.0.0.1")
    udp.connect(farm.udp_socket("127.0.0.1").getsockname())
    app = real_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.shown is not None, tries=500)
        await traffic_reported(pilot)
        assert app.live.collecting_traffic  # the Ephemeral pane draws its rate columns
        first = app.live.traffic
        if first is None or first.unavailable is not None:  # polled before it was switched on
            first = await counted_poll(pilot, app)
        assert first.unavailable is None and first.interval is None
        assert row_of(app, ends(client)).cell("tx") == NO_RATE_YET  # seen once: no rate yet
        assert row_of(app, ends(udp)).cell("rx") == NO_COUNTERS
        pour(client, server, SENT)
        pour(server, client, ANSWERED)
        settle(client, server)
        report = await counted_poll(pilot, app)
        kernel = ss_tcp_info()[ends(client)]
        assert report.interval is not None

        row = row_of(app, ends(client))
        shown = report.connection(row.payload)
        assert shown is not None and shown.rate is not None
        assert shown.info.bytes_acked == kernel["bytes_acked"]
        assert shown.info.bytes_received == kernel["bytes_received"]
        assert round(shown.rate.sent * report.interval) == SENT
        assert round(shown.rate.received * report.interval) == ANSWERED
        assert row.cell("tx") == rate_text(SENT / report.interval)
        assert row.cell("rx") == rate_text(ANSWERED / report.interval)
        assert row_of(app, ends(udp)).cell("tx") == NO_COUNTERS

        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TrafficScreen))
        screen = app.screen
        assert isinstance(screen, TrafficScreen)
        processes, destinations = screen.lists["processes"], screen.lists["destinations"]
        await until(pilot, lambda: processes.lines and destinations.lines)
        mine = next(g for g in processes.lines if f"(pid {os.getpid()})" in g.label)
        assert mine.rate is not None and mine.rate.sent >= SENT / report.interval
        assert "↑ 0B/s" not in mine.figures
        there = next(g for g in destinations.lines if g.label == f"127.0.0.1:{port}")
        assert there.rate is not None and round(there.rate.sent * report.interval) == SENT
        ours = report.snapshot.namespace_name(os.stat("/proc/self/ns/net").st_ino)
        assert ours in {g.label for g in screen.lists["namespaces"].lines}  # as the panes say
        header = str(app.header.throughput.render())
        assert header.startswith("TCP ↓") and "B/s" in header

        processes.focus()
        processes.index = processes.lines.index(mine)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProcessScreen))
        details = app.screen
        assert isinstance(details, ProcessScreen) and details.owner.pid == os.getpid()
        facts = str(details.query_one("#process-traffic", Static).render())
        assert "conns" in facts and "received" in facts and "sent" in facts, facts


async def test_a_receiver_that_stops_reading_flags_the_sender_s_row(
    tmp_path: Path, farm: SocketFarm
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, _server),) = farm.connect(listener)
    app = real_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.shown is not None, tries=500)
        await counted_poll(pilot, app)
        client.setblocking(False)
        deadline = time.monotonic() + STALL_TIMEOUT
        while True:  # fill the peer's window and our send buffer; the peer never reads
            try:
                client.send(b"r" * 65536)
            except BlockingIOError:
                break
            assert time.monotonic() < deadline
        assert unacknowledged(client) > 0
        await counted_poll(pilot, app)
        time.sleep(1.0)
        report = await counted_poll(pilot, app)
        row = row_of(app, ends(client))
        found = report.connection(row.payload)
        assert found is not None and "receiver_limited" in found.flags
        marker = row.cell("process").partition(" ▲ ")[2]
        assert "receiver-limited" in marker.split(", ") and row.tag == "warning", marker

        table = app.ephemeral.table
        table.focus()
        table.cursor = table.model.index_of(row.key) or 0
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProcessScreen))
        screen = app.screen
        assert isinstance(screen, ProcessScreen)
        explained = str(screen.query_one("#process-traffic", Static).render())
        assert f"127.0.0.1:{client.getsockname()[1]} → " in explained, explained
        assert "waiting on the receiver's window (it is not reading)" in explained


async def test_tcp_info_is_asked_for_only_while_the_screen_shows_traffic(
    tmp_path: Path, farm: SocketFarm
) -> None:
    """Behind the pressure view the Ephemeral pane shows nothing: no tcp_info. The
    Traffic view opened over it asks for it; closed again, it is no longer asked for."""
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener)
    app = real_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.shown is not None, tries=500)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PressureScreen))
        await next_poll(pilot)
        assert not app.live.collecting_traffic
        await next_poll(pilot)
        assert app.shown is not None and app.shown.tcp_info is None
        await pilot.press("T")
        await until(pilot, lambda: isinstance(app.screen, TrafficScreen))
        assert app.live.collecting_traffic
        await next_poll(pilot)
        assert app.shown is not None and app.shown.tcp_info is not None
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, PressureScreen))
        assert not app.live.collecting_traffic
        await next_poll(pilot)
        assert app.shown is not None and app.shown.tcp_info is None
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, PressureScreen))
        await next_poll(pilot)
        assert app.live.collecting_traffic


async def test_the_rate_columns_sort_and_follow_each_report(tmp_path: Path) -> None:
    """Sorted by rx/s, busiest first: no rate yet on the first poll, then each report's
    rates in place (the demo server moving data at fixed rates, paced per interval)."""
    app = demo_app(tmp_path / "config.toml", traffic_steps())
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        await traffic_reported(pilot)
        table = app.ephemeral.table
        table.sort_by("rx", reverse=True)
        await pilot.pause()

        def shown() -> list[tuple[int, str]]:
            rows = [table.model.row_at(i) for i in range(len(table.model))]
            return [(row.payload.local_port, row.cell("rx")) for row in rows]

        assert [cell for _port, cell in shown()] == [NO_RATE_YET] * 4 + [NO_COUNTERS]
        for expected in (["1.2M", "310K", "150K"], ["750K", "186K", "90.0K"]):
            await next_poll(pilot)
            await traffic_reported(pilot)
            assert shown() == [
                *zip((41822, 45010, 52344), expected, strict=True),
                (53012, "0"),
                (52346, NO_COUNTERS),
            ]


async def test_a_connection_gone_to_time_wait_has_no_counters_not_an_idle_rate(
    tmp_path: Path, farm: SocketFarm
) -> None:
    """The kernel keeps no tcp_info for TIME_WAIT: the row of an idle connection that
    closed says so, though the report it was built with saw it ESTABLISHED (and idle:
    a steady row no later report looks at again)."""
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    endpoints = ends(client)
    app = real_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.shown is not None, tries=500)
        await counted_poll(pilot, app)
        pour(client, server, 100_000)
        settle(client)
        await counted_poll(pilot, app)
        assert row_of(app, endpoints).cell("tx") not in (NO_RATE_YET, NO_COUNTERS)
        await counted_poll(pilot, app)
        assert row_of(app, endpoints).cell("tx") == "0"  # idle since: steady
        pour(client, server, 100_000)  # a steady row that moves again, then stops
        settle(client)
        await counted_poll(pilot, app)
        assert row_of(app, endpoints).cell("tx") not in (NO_RATE_YET, NO_COUNTERS, "0")
        await counted_poll(pilot, app)
        assert row_of(app, endpoints).cell("tx") == "0"  # seen to stop, though it moved not
        farm.release(client)  # the side that closes first waits in TIME_WAIT
        farm.release(server)
        await counted_poll(pilot, app)
        row = row_of(app, endpoints)
        assert row.payload.state == "TIME_WAIT"
        assert (row.cell("rx"), row.cell("tx")) == (NO_COUNTERS, NO_COUNTERS)
