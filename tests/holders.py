"""Real processes with hostile names holding real loopback sockets, for the tests that
check what portscope makes of text a process chooses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

NAMED = """
import ctypes, os, socket, sys, time
name = bytes.fromhex(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(15, ctypes.c_char_p(name), 0, 0, 0) != 0:  # PR_SET_NAME
    raise OSError(ctypes.get_errno(), "prctl")
"""
"""Prologue of a holder: its comm (the process name) becomes the bytes in argv[1], in hex."""

CLOSE_WAIT = """
import os, socket, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
held = []
for _ in range(3):
    client = socket.create_connection(listener.getsockname())
    held.append(listener.accept()[0])
    client.close()  # the peer's FIN leaves `held` in CLOSE_WAIT, for as long as we live
os.write(1, b"%d\\n" % listener.getsockname()[1])
time.sleep(60)
"""
"""Body of a holder: a loopback listener and three accepted sockets in CLOSE_WAIT; it
prints the listener's port once they are all in place."""

STDLIB_ONLY = {"PYTHONHOME": sys.base_prefix}
"""A holder run under another argv[0] or executable name cannot find its prefix from it;
the holders need only the stdlib."""


@contextmanager
def holder(
    argv: Sequence[str | bytes],
    executable: str | bytes = sys.executable,
    cwd: str | bytes | None = None,
) -> Iterator[tuple[int, int]]:
    """Run one holder; (its pid, the port it printed) while it runs; killed and reaped after."""
    proc = subprocess.Popen(
        argv, executable=executable, cwd=cwd, stdout=subprocess.PIPE, env=STDLIB_ONLY
    )
    try:
        assert proc.stdout is not None
        yield proc.pid, int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
