"""Run a real `portscope record` against a loopback workload, in this network namespace.

Meant to run inside `unshare --net` (tests/recording.py starts it), so the recorder's
polls and the kernel's socket-end events see the workload's sockets and nothing else.
Prints one JSON document: the ports the workload used (from its own sockets) and how
the recorder ended. The spec (argv[1], JSON) says what to do:

    db            the history database
    interval      the recorder's poll interval
    short         connections each opened, used and closed at once (far shorter than a poll)
    reset         connections closed with RST (SO_LINGER 0), leaving no TIME_WAIT
    reused        connections one after another from one client port (reset, so its
                  4-tuple is free at once): each accepted end has the last one's 4-tuple
    held          connections kept open over several polls, then closed
    as_nobody     run the recorder as uid/gid 65534
    fill          a path on a small filesystem: fill it between two workload rounds,
                  then free it (the full-disk case)
    kill          SIGKILL the recorder while connections go on and it writes them
                  (after this many ms more), instead of SIGTERM; `before` is what
                  a reader found in the database just before
    known_listener  False: connect at once, before any poll has seen the listener
    server_first  the short connections' server end closes first
    options       more options for `portscope record` (`--polls-only`, `--max-size 8M`)
    tmpfs         [directory, size]: mount a tmpfs there first (needs `unshare --mount`)

The database is read back here once the recorder is gone (`read_back`): a tmpfs
mounted here is gone with the namespace.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from recording import recorder_argv  # noqa: E402

READY = "first poll recorded"
LINGER_RESET = struct.pack("ii", 1, 0)
STARTUP = 60.0


def short_connection(
    listener: socket.socket, reset: bool = False, server_first: bool = False
) -> int:
    """One connection that lives well under a millisecond: connect, a request and an
    answer, close (the client first, as a client does, unless `server_first`, as an
    HTTP/1.0 server does). Its client port."""
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    client.sendall(b"ping")
    server.recv(16)
    server.sendall(b"pong!")
    client.recv(16)
    port = client.getsockname()[1]
    if reset:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    for sock in (server, client) if server_first else (client, server):
        sock.close()
    return port


def reused_connections(listener: socket.socket, count: int) -> int:
    """`count` connections one after another from one client port (bound with
    SO_REUSEADDR, each reset so no TIME_WAIT holds the 4-tuple): each accepted end has
    the same 4-tuple as the last. The client port."""
    port = 0
    for _ in range(count):
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        client.bind(("127.0.0.1", port))
        client.connect(listener.getsockname())
        port = client.getsockname()[1]
        server, _ = listener.accept()
        client.sendall(b"ping")
        server.recv(16)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        client.close()
        server.close()
    return port


def wait_for(proc: subprocess.Popen[str], line_part: str, seen: list[str]) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        line = proc.stderr.readline() if proc.stderr else ""
        if not line:
            raise SystemExit(f"recorder ended before {line_part!r}: {''.join(seen)}")
        seen.append(line)
        if line_part in line:
            return
    raise SystemExit(f"no {line_part!r} within {STARTUP} s: {''.join(seen)}")


def fill(path: str) -> None:
    """Write until the filesystem is full."""
    try:
        with open(path, "wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:
        pass


def kill_while_writing(
    proc: subprocess.Popen[str], listener: socket.socket, db: str, count: int
) -> list[list[object]]:
    """Connections go on in a thread while the rows written so far are read, then the
    recorder gets SIGKILL mid-stream. The rows read before (id, ports, close)."""
    import sqlite3
    import threading

    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            short_connection(listener)

    worker = threading.Thread(target=churn)
    worker.start()
    time.sleep(3)
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    before = reader.execute(
        "SELECT id, local_port, remote_port, closed FROM connections ORDER BY id"
    ).fetchall()
    reader.close()
    time.sleep(count / 1000)
    proc.send_signal(signal.SIGKILL)
    stop.set()
    worker.join()
    return [list(row) for row in before]


def main() -> None:
    spec = json.loads(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    if spec.get("tmpfs"):
        where, size = spec["tmpfs"]
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", where],
                       check=True)  # fmt: skip
    interval = float(spec.get("interval", 0.5))
    argv = recorder_argv(
        spec["db"], interval, spec.get("as_nobody", False), *spec.get("options", [])
    )
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    wait_for(proc, READY, seen)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    if spec.get("known_listener", True):
        time.sleep(interval * 3)  # the listener is known before the first connection ends
    result: dict[str, object] = {
        "listener_port": listener.getsockname()[1],
        "pid": os.getpid(),
        "comm": Path("/proc/self/comm").read_text().strip(),
    }
    held = []
    for _ in range(spec.get("held", 0)):
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        held.append((client, server))
    result["held"] = [c.getsockname()[1] for c, _s in held]
    server_first = spec.get("server_first", False)
    result["short"] = [
        short_connection(listener, server_first=server_first) for _ in range(spec.get("short", 0))
    ]
    result["reset"] = [short_connection(listener, True) for _ in range(spec.get("reset", 0))]
    if spec.get("reused"):
        result["reused_port"] = reused_connections(listener, spec["reused"])
    if spec.get("fill"):
        time.sleep(interval * 2 + 4)  # past the writer's grace and batch: they are in
        fill(spec["fill"])
        time.sleep(interval * 4)
        result["while_full"] = [short_connection(listener) for _ in range(spec.get("short", 0))]
        time.sleep(interval * 6)
        os.unlink(spec["fill"])
        time.sleep(interval * 4)
        result["after"] = [short_connection(listener) for _ in range(spec.get("short", 0))]
    time.sleep(interval * 4)
    for client, server in held:
        client.close()
        server.close()
    time.sleep(interval * 4 + 3)  # a poll sees them gone; the writer's grace and batch pass
    if spec.get("kill"):
        result["before"] = kill_while_writing(proc, listener, spec["db"], spec["kill"])
    else:
        proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    result["exit"] = proc.returncode
    result["stderr"] = "".join(seen) + err
    listener.close()
    result.update(read_back(spec["db"]))
    print(json.dumps(result))


def read_back(db: str) -> dict[str, object]:
    """What the database holds once the recorder is gone (a tmpfs goes with this
    namespace, so it is read here): its integrity check and every connection."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        found = conn.execute(
            """SELECT c.id, c.local_port, c.remote_port, c.accepted, c.ended, c.state,
            w.process, w.pid, p.process, c.lifetime, c.bound, c.sent, c.received, c.opened,
            c.owner_from, c.uid, c.closed
            FROM connections c LEFT JOIN owners w ON w.id = c.owner
            LEFT JOIN owners p ON p.id = c.peer ORDER BY c.id"""
        ).fetchall()
        runs = conn.execute("SELECT kernel_events, note, dropped FROM runs").fetchall()
    finally:
        conn.close()
    names = ("id", "local_port", "remote_port", "accepted", "ended", "state", "process",
             "pid", "peer", "lifetime", "bound", "sent", "received", "opened", "owner_from",
             "uid", "closed")  # fmt: skip
    return {
        "integrity": integrity,
        "rows": [dict(zip(names, row, strict=True)) for row in found],
        "runs": [list(run) for run in runs],
    }


if __name__ == "__main__":
    main()
