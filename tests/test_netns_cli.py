"""The scripts across real network namespaces: `snapshot --json` says where each socket
lives and lists the namespaces, `--netns` narrows snapshot, check and metrics to one
(and refuses a selector that names none), check names the namespace of each problem,
and an unprivileged run counts what it could not read instead of failing."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import needs_root, run_portscope, run_portscope_as_nobody, snapshot_json
from namespace_support import PORT, TIMEOUT, ip_netns, listener_in
from netns import needs_netns

pytestmark = [needs_root, needs_netns, pytest.mark.root]


def test_json_says_where_each_socket_lives_and_lists_the_namespaces() -> None:
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        doc = snapshot_json()
        (listener,) = [r for r in doc["listening"] if r["netns"] == name]
        assert (listener["port"], listener["netns_inode"], listener["pid"]) == (
            PORT, held.inode, held.pid,
        )  # fmt: skip
        connections = [r for r in doc["connections"] if r["netns_inode"] == held.inode]
        assert len(connections) == 2 and {r["netns"] for r in connections} == {name}
        spaces = {ns["inode"]: ns for ns in doc["namespaces"]}
        assert spaces[held.inode]["name"] == name
        assert spaces[held.inode]["kind"] == "named"
        assert spaces[held.inode]["sockets"] == 3
        assert spaces[held.inode]["readable"] is True
        assert set(spaces[held.inode]["ephemeral_range"]) == {"low", "high", "reserved"}
        host = doc["namespaces"][0]
        assert (host["name"], host["kind"]) == ("host", "host")
        mine = [r for r in doc["listening"] if r["pid"] == os.getpid()]
        assert all(r["netns"] == "host" for r in mine)


@pytest.mark.parametrize("how", ["name", "inode", "netns:inode"])
def test_netns_narrows_a_snapshot_to_one_namespace(how: str) -> None:
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        selector = {"name": name, "inode": str(held.inode), "netns:inode": f"netns:{held.inode}"}
        doc = snapshot_json("--netns", selector[how])
        assert [ns["inode"] for ns in doc["namespaces"]] == [held.inode]
        sockets = doc["listening"] + doc["connections"]
        assert len(sockets) == 3 and {r["netns_inode"] for r in sockets} == {held.inode}
        host = snapshot_json("--netns", "host")
        assert held.inode not in {r["netns_inode"] for r in host["listening"]}


def test_the_table_gets_a_netns_column_when_several_namespaces_are_listed() -> None:
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]):
        done = run_portscope("snapshot")
        assert done.returncode == 0, done.stderr
        header, *rows, _summary = done.stdout.rstrip("\n").splitlines()
        assert header.split()[4] == "NETNS"
        assert any(f"127.0.0.1:{PORT}" in row and name[:20] in row for row in rows)
        alone = run_portscope("snapshot", "--netns", name)
        assert "NETNS" not in alone.stdout.splitlines()[0]


@pytest.mark.parametrize("command", ["snapshot", "check", "metrics"])
def test_a_selector_that_names_no_namespace_is_a_usage_error(command: str) -> None:
    done = run_portscope(command, "--netns", "no-such-namespace-here")
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("portscope: --netns no-such-namespace-here: no such network namespace")
    assert "host" in line


def test_check_judges_pressure_in_the_namespace_s_own_range_and_names_it() -> None:
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        subprocess.run(
            ["ip", "netns", "exec", name, "sysctl", "-qw",
             "net.ipv4.ip_local_port_range=40000 40002"],
            check=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        held.connect()
        held.connect()
        wanted = f"tcp 127.0.0.1 -> 127.0.0.1:{PORT}: 2 of 3 ephemeral ports in use"
        every = run_portscope("check", "--json", "--warning", "50", "--critical", "99")
        doc = json.loads(every.stdout)
        texts = [p["text"] for p in doc["problems"]]
        assert any(text.startswith(f"netns {name}: {wanted}") for text in texts), texts
        (theirs,) = [p for p in doc["pressure"] if p["netns_inode"] == held.inode]
        assert (theirs["in_use"], theirs["budget"], theirs["remote_port"]) == (2, 3, PORT)
        alone = run_portscope("check", "--netns", name, "--warning", "50", "--critical", "99")
        assert alone.returncode == 1, alone.stdout
        assert f"WARNING: {wanted}" in alone.stdout  # one namespace: none to tell apart


def test_metrics_label_each_listener_with_its_namespace() -> None:
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]):
        done = run_portscope("metrics", "--netns", name)
        assert done.returncode == 0, done.stderr
        info = [
            line for line in done.stdout.splitlines() if line.startswith("portscope_listener_info{")
        ]
        assert len(info) == 1 and f'netns="{name}"' in info[0] and f'port="{PORT}"' in info[0]


def test_an_unprivileged_run_counts_the_namespaces_it_cannot_read() -> None:
    with ip_netns() as name, listener_in(["ip", "netns", "exec", name]) as held:
        done = run_portscope_as_nobody("snapshot", "--json")
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        doc = json.loads(done.stdout)
        spaces = {ns["inode"]: ns for ns in doc["namespaces"]}
        theirs = spaces[held.inode]
        assert (theirs["name"], theirs["readable"], theirs["sockets"]) == (name, False, 0)
        assert "sudo" in theirs["reason"]
        assert "sudo" in doc["unread_namespaces"]
        assert held.inode not in {r["netns_inode"] for r in doc["listening"]}
        table = run_portscope_as_nobody("snapshot")
        assert table.returncode == 0 and "could not be read" in table.stdout.splitlines()[-1]


NOBODY_LISTENER = """
import socket, sys
listener = socket.socket()
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen()
print("ready", flush=True)
sys.stdin.read()
"""


def test_an_unprivileged_user_reads_its_own_process_s_namespace_through_proc() -> None:
    """Entering a namespace needs CAP_SYS_ADMIN, but /proc/<pid>/net of one's own
    process shows its namespace's tables: a rootless container's, say."""
    with ip_netns() as name:
        subprocess.run(
            ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
            check=True,
            timeout=TIMEOUT,
        )
        nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
        held = subprocess.Popen(
            ["ip", "netns", "exec", name, *nobody, "/usr/bin/python3", "-c", NOBODY_LISTENER,
             str(PORT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert held.stdout is not None and held.stdout.readline().strip() == "ready"
            inode = int(os.readlink(f"/proc/{held.pid}/ns/net")[5:-1])
            done = run_portscope_as_nobody("snapshot", "--json")
            assert done.returncode == 0, done.stderr
            doc = json.loads(done.stdout)
            theirs = next(ns for ns in doc["namespaces"] if ns["inode"] == inode)
            assert (theirs["readable"], theirs["sockets"]) == (True, 1)
            (listener,) = [r for r in doc["listening"] if r["netns_inode"] == inode]
            assert (listener["port"], listener["pid"], listener["netns"]) == (PORT, held.pid, name)
        finally:
            held.communicate("", timeout=TIMEOUT)
