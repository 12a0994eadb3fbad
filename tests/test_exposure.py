"""Bind-address exposure and interface naming, against this machine's real interfaces."""

from __future__ import annotations

import pytest

from portscope.collect.interfaces import read_interfaces
from portscope.exposure import bind_label, exposure_of


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "all"),
        ("::", "all"),
        ("192.0.2.7", "interface"),
        ("fe80::1%eth0", "interface"),
        ("::ffff:192.0.2.7", "interface"),
    ],
)
def test_exposure_classes(address: str, expected: str) -> None:
    assert exposure_of(address) == expected


def test_loopback_listener_is_named_after_the_loopback_interface() -> None:
    table = read_interfaces()
    assert table.name_for("127.0.0.1") == "lo"
    assert bind_label("127.0.0.1", table) == "lo"
    assert bind_label("127.0.0.53", table) == "lo"
    assert bind_label("0.0.0.0", table) == "all interfaces"
    assert bind_label("fe80::1%eth7", table) == "eth7"
    assert bind_label("203.0.113.9", table) == "not local"


def test_every_interface_address_maps_back_to_its_interface() -> None:
    table = read_interfaces()
    assert any(i.name == "lo" for i in table.interfaces)
    for interface in table.interfaces:
        for address in interface.addresses:
            owner = table.name_for(address)
            assert owner is not None
            assert address.split("%")[0] in {
                a.split("%")[0] for i in table.interfaces if i.name == owner for a in i.addresses
            }
