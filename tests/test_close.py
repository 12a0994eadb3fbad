"""`portscope close`: real loopback connections closed through SOCK_DESTROY, as `ss -K`
does. The process holding one is a real child that reports what its sockets see; the
refusals (no privilege, a connection whose identity changed) leave everything as it was.
Every filter here names the test's own ends exactly: other tests' connections share
this namespace, and `--yes` would close them too."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time

import pytest

from conftest import cli_env, needs_root, run_portscope, run_portscope_as_nobody
from connection_holder import ends_in_ss, holder, report
from portscope.closing import CloseRefused, close_connection, close_refusal, confirmation
from portscope.collect import Collector
from portscope.model import Socket
from sockets import SocketFarm

pytestmark = [needs_root, pytest.mark.root]


def doomed_filter(ports: dict[str, int]) -> str:
    return f"src 127.0.0.1:{ports['doomed']} and dst 127.0.0.1:{ports['port']}"


def test_a_connection_closed_from_the_cli_is_aborted_and_its_process_lives_on() -> None:
    with holder() as (proc, ports):
        done = run_portscope("close", "--filter", doomed_filter(ports), "--yes")
        assert done.returncode == 0, done.stderr
        closed = f"tcp 127.0.0.1:{ports['doomed']} -> 127.0.0.1:{ports['port']}"
        assert done.stdout == f"Closed {closed} (ESTABLISHED).\n"
        assert f"  {closed} (ESTABLISHED), held by " in done.stderr
        assert f"(pid {proc.pid})" in done.stderr
        # The holder's end is aborted; the peer gets the reset.
        assert sorted(report(proc, 2)) == ["client ECONNABORTED", "server ECONNRESET"]
        assert ends_in_ss(ports["doomed"], ports["port"]) == set()
        assert proc.stdin is not None
        proc.stdin.write("ping\n")
        proc.stdin.flush()
        assert report(proc, 1) == ["spared ping pong"]
        assert proc.poll() is None
        assert len(ends_in_ss(ports["spared"], ports["port"])) == 2


def test_an_unprivileged_user_is_refused_and_nothing_changes() -> None:
    with holder() as (proc, ports):
        done = run_portscope_as_nobody("close", "--filter", doomed_filter(ports), "--yes")
        assert done.returncode == 1
        assert done.stdout == ""
        assert "needs CAP_NET_ADMIN" in done.stderr
        assert len(ends_in_ss(ports["doomed"], ports["port"])) == 2
        assert proc.poll() is None
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        assert ready == [], "the holder saw nothing happen to its connection"


def read_until(stream: int, marker: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.1)
        if ready:
            seen += os.read(stream, 4096)
    return seen


def test_a_connection_replaced_after_the_question_is_left_alone(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    client, server = farm.connect_from(listener)
    local, remote = client.getsockname(), client.getpeername()
    expression = f"src 127.0.0.1:{local[1]} and dst 127.0.0.1:{remote[1]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "portscope", "close", "--filter", expression],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    assert proc.stdin is not None and proc.stderr is not None
    try:
        asked = read_until(proc.stderr.fileno(), b"[y/N]")
        assert b"Close this connection?" in asked, asked
        farm.reset(client)  # the same 4-tuple, new sockets
        farm.release(server)
        client, server = farm.connect_from(listener, local[1])
        assert (client.getsockname(), client.getpeername()) == (local, remote)
        out, err = proc.communicate(b"y\n", timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 1
    assert out == b""
    assert b"its identity changed: another socket has its addresses now" in err
    client.sendall(b"still")
    assert server.recv(5) == b"still"


def own_socket(client: socket.socket) -> Socket:
    local, remote = client.getsockname()[:2], client.getpeername()[:2]
    (sock,) = [
        s
        for s in Collector().collect().connections
        if (s.local_address, s.local_port, s.remote_address, s.remote_port) == (*local, *remote)
    ]
    return sock


def test_a_connection_that_is_gone_is_refused(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, _server),) = farm.connect(listener)
    sock = own_socket(client)
    farm.reset(client)
    with pytest.raises(CloseRefused, match="its identity changed: it is gone"):
        close_connection(sock)


def test_the_question_names_both_ends_the_state_and_the_process(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, _server),) = farm.connect(listener)
    sock = own_socket(client)
    question = confirmation(sock)
    local, remote = client.getsockname()[1], listener.getsockname()[1]
    assert question.startswith(
        f"Close tcp 127.0.0.1:{local} -> 127.0.0.1:{remote} (ESTABLISHED), held by "
    )
    assert f"(pid {os.getpid()})?" in question
    assert "the process keeps running" in question


def test_what_cannot_be_closed_says_why(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    udp = farm.udp_socket("127.0.0.1")
    snapshot = Collector().collect()
    (tcp_listener,) = [s for s in snapshot.listeners if s.local_port == listener.getsockname()[1]]
    (bound,) = [s for s in snapshot.listeners if s.local_port == udp.getsockname()[1]]
    assert close_refusal(tcp_listener) == "that is a listener; stop its process to close it"
    assert "UDP has no connection" in (close_refusal(bound) or "")
    with pytest.raises(CloseRefused, match="listener"):
        close_connection(tcp_listener)


def test_more_than_one_match_needs_all_and_all_closes_each(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    pairs = farm.connect(listener, 2)
    expression = f"proto tcp and dst 127.0.0.1:{listener.getsockname()[1]}"
    refused = run_portscope("close", "--filter", expression, "--yes")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "portscope: 2 connections match; narrow the filter, or pass --all to close them all\n"
    )
    done = run_portscope("close", "--filter", expression, "--yes", "--all")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    for client, _server in pairs:
        with pytest.raises(ConnectionAbortedError):
            client.recv(1)


@pytest.mark.parametrize("answer", ["n\n", "", "yess\n"])
def test_anything_but_yes_closes_nothing(farm: SocketFarm, answer: str) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    ((client, server),) = farm.connect(listener)
    expression = f"src 127.0.0.1:{client.getsockname()[1]} dst 127.0.0.1:{server.getsockname()[1]}"
    done = run_portscope("close", "--filter", expression, input=answer, timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    end_of_input = "\n" if not answer else ""  # the answer's own newline ends the line
    assert done.stderr.endswith(f"[y/N] {end_of_input}portscope: nothing closed\n")
    client.sendall(b"x")
    assert server.recv(1) == b"x"


def test_no_match_and_udp_only_close_nothing(farm: SocketFarm) -> None:
    udp = farm.udp_socket("127.0.0.1")
    peer = farm.udp_socket("127.0.0.1")
    peer.connect(udp.getsockname())
    ends = f"src 127.0.0.1:{peer.getsockname()[1]} dst 127.0.0.1:{udp.getsockname()[1]}"
    done = run_portscope("close", "--filter", ends, "--yes")
    assert (done.returncode, done.stdout) == (1, "")
    assert "left alone: udp 127.0.0.1:" in done.stderr
    assert done.stderr.endswith("portscope: no TCP connection matches; nothing closed\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["close"], "the following arguments are required: --filter"),
        (["close", "--filter", "dport ="], "argument --filter: at 8: expected a value"),
        (["close", "--filter", ""], "--filter: say which connections to close"),
    ],
)
def test_bad_close_input_is_one_line_and_exit_2(argv: list[str], message: str) -> None:
    done = run_portscope(*argv)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("portscope: ") and message in done.stderr
    assert done.stderr.count("\n") == 1
