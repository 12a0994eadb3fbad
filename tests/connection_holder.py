"""A real child holding two loopback connections, for closing one of them (from the CLI
or the dashboard) and seeing what each end, and `ss`, make of it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ss import SS_TIMEOUT

HOLDER = r"""
import errno, json, select, socket, sys
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
pairs = {}
for name in ("doomed", "spared"):
    client = socket.create_connection(listener.getsockname())
    pairs[name] = (client, listener.accept()[0])
ports = {name: client.getsockname()[1] for name, (client, _server) in pairs.items()}
print(json.dumps({"port": listener.getsockname()[1], **ports}), flush=True)
doomed_client, doomed_server = pairs["doomed"]
watched = {doomed_client: "client", doomed_server: "server"}
while True:
    ready, _, _ = select.select([sys.stdin, *watched], [], [], 60)
    for sock in ready:
        if sock is sys.stdin:
            if not sys.stdin.readline():
                sys.exit(0)
            client, server = pairs["spared"]
            client.sendall(b"ping")
            got = server.recv(4)
            server.sendall(b"pong")
            print("spared", got.decode(), client.recv(4).decode(), flush=True)
            continue
        try:
            print(watched[sock], "data" if sock.recv(16) else "eof", flush=True)
        except OSError as exc:
            print(watched[sock], errno.errorcode[exc.errno], flush=True)
        del watched[sock]
"""
"""A child holding two loopback connections; it prints its ports, then what the doomed
pair's ends see, and on each line of input it passes data over the spared pair."""


@contextmanager
def holder() -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc, json.loads(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(timeout=10)


def report(proc: subprocess.Popen[str], lines: int) -> list[str]:
    assert proc.stdout is not None
    return [proc.stdout.readline().strip() for _ in range(lines)]


def ends_in_ss(local_port: int, remote_port: int) -> set[tuple[str, str]]:
    """The (local, peer) ends of the TCP sockets ss sees between these two loopback ports.
    Without -p: another test's process may be named with a newline, which ss prints raw."""
    done = subprocess.run(
        ["ss", "-tanH"], capture_output=True, text=True, timeout=SS_TIMEOUT, check=True
    )
    ends = {f"127.0.0.1:{local_port}", f"127.0.0.1:{remote_port}"}
    rows = (line.split()[3:5] for line in done.stdout.splitlines())
    return {(row[0], row[1]) for row in rows if len(row) == 2 and set(row) == ends}
