"""Scoped and v4-mapped IPv6 addresses render as typed and sort in numeric order."""

from __future__ import annotations

from pathlib import Path

from demo.server import demo_snapshot, with_sockets
from portscope.model import Socket
from portscope.view.socket_cells import address_sort
from ui_support import demo_app, first_frame


def test_addresses_sort_numerically_v4_before_v6() -> None:
    mixed = ["fe80::1%eth0", "10.0.0.10", "::ffff:10.0.0.1", "2001:db8::1", "10.0.0.2", "::1"]
    assert sorted(mixed, key=address_sort) == [
        "10.0.0.2",
        "10.0.0.10",
        "::1",
        "::ffff:10.0.0.1",
        "2001:db8::1",
        "fe80::1%eth0",
    ]


async def test_scoped_and_v4_mapped_rows_render_and_sort(tmp_path: Path) -> None:
    odd = (
        Socket("tcp", "ipv6", "fe80::1%eth0", 7001, state="LISTEN", inode=71),
        Socket("tcp", "ipv6", "::ffff:127.0.0.1", 7002, state="LISTEN", inode=72),
        Socket("udp", "ipv6", "fe80::2%lo", 7003, inode=73),
    )
    app = demo_app(tmp_path / "config.toml", [with_sockets(demo_snapshot(), *odd)])
    async with app.run_test(size=(120, 36)) as pilot:
        await first_frame(pilot)
        table = app.listening.table
        table.sort_by("address", reverse=False)
        await pilot.pause()
        shown = [table.model.row_at(i).cell("address") for i in range(len(table.model))]
        for address in ("fe80::1%eth0", "::ffff:127.0.0.1", "fe80::2%lo"):
            assert address in shown
        assert shown.index("::ffff:127.0.0.1") < shown.index("fe80::1%eth0")
        assert shown.index("fe80::1%eth0") < shown.index("fe80::2%lo")
