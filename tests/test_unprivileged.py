"""`portscope snapshot --json` run by an unprivileged user sees root's sockets without owners.

This venv's interpreter lives under /root (mode 700), so `nobody` cannot start it. The
child starts as root, imports everything the command needs, drops to nobody for good,
and only then runs the real CLI entry point.
"""

from __future__ import annotations

import json
import sys

import pytest

from conftest import needs_root, run_with_tree
from sockets import SocketFarm

NOBODY = 65534

AS_NOBODY = f"""
import encodings.ascii, os, shutil, sys  # imported lazily by argparse and open()
import portscope.cli, portscope.cli.snapshot, portscope.collect, portscope.poller
import portscope.report.snapshot
os.setgroups([])
os.setgid({NOBODY})
os.setuid({NOBODY})
assert os.geteuid() == {NOBODY} and os.getegid() == {NOBODY}
sys.exit(portscope.cli.main(sys.argv[1:]))
"""

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
    argv = [sys.executable, "-c", AS_NOBODY, "snapshot", "--json", "--source", source]
    done = run_with_tree(argv)
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
