"""Shared test fixtures: real loopback sockets, the CLI as a subprocess, and `ss`."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import IO

import pytest

from sockets import SocketFarm

TREE = Path(__file__).resolve().parent.parent
SOURCE_ROOT = TREE / "tui"


def cli_env(**extra: str) -> dict[str, str]:
    """Environment in which `python -m portscope` imports this tree's source."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_with_tree(
    argv: list[str],
    timeout: float = 120,
    *,
    stdin: IO[bytes] | None = None,
    input: str | None = None,
    **env: str,
) -> CompletedProcess[str]:
    """Run a command (text in, text out, never raising on exit status) with this tree's
    source importable; `input` is written to its stdin, or `stdin` is its stdin."""
    return subprocess.run(
        argv,
        stdin=stdin,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(**env),
        check=False,
    )


def run_portscope(
    *args: str,
    timeout: float = 120,
    stdin: IO[bytes] | None = None,
    input: str | None = None,
    **env: str,
) -> CompletedProcess[str]:
    """Run the real CLI in a fresh interpreter, as a user would."""
    argv = [sys.executable, "-m", "portscope", *args]
    return run_with_tree(argv, timeout, stdin=stdin, input=input, **env)


NOBODY = 65534
AS_NOBODY = f"""
import encodings.ascii, os, shutil, sys  # imported lazily by argparse and open()
import portscope.cli, portscope.cli.output, portscope.cli.snapshot, portscope.collect
import portscope.files, portscope.poller, portscope.report.snapshot
import portscope.closing, portscope.view.filters
os.setgroups([])
os.setgid({NOBODY})
os.setuid({NOBODY})
assert os.geteuid() == {NOBODY} and os.getegid() == {NOBODY}
sys.exit(portscope.cli.main(sys.argv[1:]))
"""


def run_portscope_as_nobody(*args: str) -> CompletedProcess[str]:
    """The real CLI entry point as uid and gid 65534 (root only). This venv's interpreter
    may live under /root (mode 700), where `nobody` cannot start it: the child starts as
    root, imports everything the commands need, drops to nobody for good, and only then
    runs the CLI."""
    return run_with_tree([sys.executable, "-c", AS_NOBODY, *args])


def snapshot_json(*args: str) -> dict:
    done = run_portscope("snapshot", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """portscope's log records go to this file for the test, as with `--log`."""
    from portscope.failures import LOG
    from portscope.logfile import log_to

    path = tmp_path / "portscope.log"
    handler = log_to(path)
    yield path
    LOG.removeHandler(handler)
    LOG.setLevel(logging.NOTSET)
    handler.close()
    assert isinstance(handler, logging.StreamHandler)
    handler.stream.close()


@pytest.fixture
def farm() -> Iterator[SocketFarm]:
    """A fresh set of loopback sockets owned by this test process, closed afterwards."""
    with SocketFarm() as sockets:
        yield sockets


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
