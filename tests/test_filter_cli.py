"""`--filter EXPR` on `snapshot` and `check`: the real CLI on real loopback sockets."""

from __future__ import annotations

import json

import pytest

from conftest import run_portscope
from netns import needs_netns, run_scenario
from sockets import SocketFarm


def test_snapshot_keeps_only_what_the_filter_selects(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    pairs = farm.connect(listener, 3)
    done = run_portscope("snapshot", "--json", "--filter", f"state established and dport = :{port}")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    clients = {("127.0.0.1", client.getsockname()[1]) for client, _server in pairs}
    assert doc["listening"] == []
    assert {(r["local_address"], r["local_port"]) for r in doc["connections"]} == clients
    assert all(r["remote_port"] == port and r["ephemeral"] for r in doc["connections"])


def test_a_listener_filtered_out_still_makes_its_port_a_service_port(farm: SocketFarm) -> None:
    """The accepted side of a connection is on the listener's port: not ephemeral,
    whether or not the filter shows the listener."""
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    farm.connect(listener, 2)
    expression = f"sport = :{port} and not state listening"
    done = run_portscope("snapshot", "--json", "--filter", expression)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert len(doc["connections"]) == 2
    assert not any(r["ephemeral"] for r in doc["connections"])


def test_a_bare_word_is_the_table_row_text(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    port = listener.getsockname()[1]
    done = run_portscope("snapshot", "--csv", "--filter", f"127.0.0.1:{port}")
    assert done.returncode == 0, done.stderr
    _header, *rows = done.stdout.splitlines()
    assert len(rows) == 1 and rows[0].startswith(f"tcp,ipv4,127.0.0.1,{port},")


@pytest.mark.parametrize("command", ["snapshot", "check"])
@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("dport =", "at 8: expected a value for 'dport' after '='"),
        ("state established and ( sport = :1", "at 23: '(' is never closed"),
        ("dst \x1b[31mx", "at 5: '\\x1b[31mx' is not an address"),
        ("process ~ '(x'", "at 11: bad regular expression: missing )"),
    ],
)
def test_a_bad_filter_is_one_line_and_exit_2(command: str, expression: str, message: str) -> None:
    done = run_portscope(command, "--filter", expression)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"portscope: argument --filter: {message}")
    assert done.stderr.count("\n") == 1 and "\x1b" not in done.stderr


@needs_netns
def test_check_judges_only_the_sockets_the_filter_selects() -> None:
    """A full accept queue on port 6000 is critical, unless the filter leaves it out."""
    everything = run_scenario(full_queue=2, check=["--json"])
    if everything["snapshot"]["health"]["accept_queues"] == []:
        pytest.skip(f"the {everything['snapshot']['source']} source reports no backlogs")
    assert json.loads(everything["check"]["stdout"])["status"] == "CRITICAL"
    others = run_scenario(full_queue=2, check=["--json", "--filter", "sport != :6000"])
    report = json.loads(others["check"]["stdout"])
    assert (report["status"], others["check"]["status"]) == ("OK", 0)
    assert report["health"]["accept_queues"] == []
