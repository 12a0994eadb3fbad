"""Bind-address exposure and interface naming, against this machine's real interfaces."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import run_with_tree
from netns import needs_netns
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
    table, _notes = read_interfaces()
    assert table.name_for("127.0.0.1") == "lo"
    assert bind_label("127.0.0.1", table) == "lo"
    assert bind_label("127.0.0.53", table) == "lo"
    assert bind_label("0.0.0.0", table) == "all interfaces"
    assert bind_label("fe80::1%eth7", table) == "eth7"
    assert bind_label("203.0.113.9", table) == "not local"


def test_every_interface_address_maps_back_to_its_interface() -> None:
    table, _notes = read_interfaces()
    assert any(i.name == "lo" for i in table.interfaces)
    for interface in table.interfaces:
        for address in interface.addresses:
            owner = table.name_for(address)
            assert owner is not None
            assert address.split("%")[0] in {
                a.split("%")[0] for i in table.interfaces if i.name == owner for a in i.addresses
            }


UNDECODABLE_INTERFACE = """
import json, os, subprocess, sys
def ip(*args):
    subprocess.run([b"ip", *args], check=True, timeout=10)
bad = b"d\\xff\\xfe"
ip(b"link", b"set", b"lo", b"up")
ip(b"link", b"add", b"name", bad, b"type", b"veth", b"peer", b"name", b"p0")
for name in (bad, b"p0"):
    ip(b"link", b"set", name, b"up")
ip(b"addr", b"add", b"10.9.9.1/24", b"dev", bad)
ip(b"addr", b"add", b"10.9.9.2/24", b"dev", b"p0")
ip(b"route", b"add", b"default", b"via", b"10.9.9.3", b"dev", bad)
done = subprocess.run(
    [sys.executable, "-m", "portscope", "snapshot", "--json"],
    capture_output=True, text=True, timeout=60,
)
print(json.dumps({"status": done.returncode, "stderr": done.stderr, "stdout": done.stdout}))
"""


@pytest.mark.root
@needs_netns
def test_an_interface_name_that_is_not_utf8_costs_its_addresses_not_the_poll() -> None:
    """netifaces raises on such a name, and crashes the process reading a route through
    it: the name is listed as text, the rest of the table is read, and a note says what
    was not."""
    done = run_with_tree(["unshare", "--net", "--", sys.executable, "-c", UNDECODABLE_INTERFACE])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == 0, result["stderr"]
    doc = json.loads(result["stdout"])
    interfaces = {i["name"]: i["addresses"] for i in doc["interfaces"]}
    assert interfaces["d\\xff\\xfe"] == []
    assert "10.9.9.2" in interfaces["p0"] and "127.0.0.1" in interfaces["lo"]
    note = (
        "interface d\\xff\\xfe: its name is not UTF-8, so its addresses and the default "
        "gateways were not read"
    )
    assert doc["errors"] == [note]
    assert result["stderr"] == f"portscope: warning: {note}\n"
