"""A real process named `x[/]y` (a closing tag with nothing to close), with markup in
its cmdline and cwd, holding a loopback listener: text from the system that once ended
the dashboard as markup."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

NAME = "x[/]y"
ARGUMENTS = ("[@click=app.quit]click[/]", "[bold red]")
HOLDER = """
import ctypes, os, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(15, ctypes.c_char_p(sys.argv[1].encode()), 0, 0, 0) != 0:  # PR_SET_NAME
    raise OSError(ctypes.get_errno(), "prctl")
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
os.write(1, b"%d\\n" % sock.getsockname()[1])
time.sleep(120)
"""


def markup_dir(root: Path) -> Path:
    """A directory whose path contains `x[/]y` (the slash is a real separator)."""
    path = root / "x[" / "]y"
    path.mkdir(parents=True)
    return path


@contextlib.contextmanager
def hostile_holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """A real process named `x[/]y`, with markup in its cmdline and cwd, holding a
    loopback listener: the process, its port, its cwd."""
    cwd = markup_dir(tmp_path)
    proc = subprocess.Popen(
        [NAME, "-c", "import os; exec(os.environ['HOLDER'])", NAME, *ARGUMENTS],
        executable=sys.executable,
        cwd=cwd,
        stdout=subprocess.PIPE,
        env={**os.environ, "HOLDER": HOLDER},
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    try:
        yield proc, port, cwd
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
