"""`portscope snapshot --json` run by an unprivileged user sees root's sockets without owners."""

from __future__ import annotations

import json

import pytest

from conftest import needs_root, run_portscope_as_nobody
from sockets import SocketFarm

pytestmark = [needs_root, pytest.mark.root]


@pytest.mark.parametrize("source", ["auto", "psutil"])
def test_unprivileged_snapshot_lists_root_sockets_without_owners(
    farm: SocketFarm, source: str
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    udp = farm.udp_socket("127.0.0.1")
    pairs = farm.connect(listener, 5)
    bound = {s.getsockname()[:2] for s in (listener, udp)}
    connected = {(s.getsockname()[:2], s.getpeername()[:2]) for pair in pairs for s in pair}
    done = run_portscope_as_nobody("snapshot", "--json", "--source", source)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["privileged"] is False
    listening = [r for r in doc["listening"] if (r["address"], r["port"]) in bound]
    connections = [
        r
        for r in doc["connections"]
        if ((r["local_address"], r["local_port"]), (r["remote_address"], r["remote_port"]))
        in connected
    ]
    assert len(listening) == 2 and len(connections) == 10
    mine = listening + connections
    assert all((r["pid"], r["process"], r["user"]) == (None, None, None) for r in mine)
    nameless = sum(r["pid"] is None for r in doc["listening"] + doc["connections"])
    assert len(mine) <= doc["unattributed"] <= nameless
