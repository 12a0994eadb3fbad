"""Run one function in a forked child and take back its (picklable) result.

For work that needs another core, not another thread: a thread shares the
interpreter lock, so Python work in it slows every other thread. The child starts
from a copy of this process, so the function sees all its state; the result comes
back pickled through a pipe. A child that raises, dies or overruns its deadline
yields None (an overrunning child is killed), so the caller does the work itself;
the child is always reaped.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
READ_SIZE = 1 << 20
CHILD_FAILED = 1


def can_fork() -> bool:
    """A platform that can fork, and a second CPU for the child to run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return hasattr(os, "fork") and affinity is not None and len(affinity(0)) > 1


def call_forked(work: Callable[[], T], timeout: float) -> T | None:
    """`work()` as computed in a child process, or None if the child did not deliver
    within `timeout` seconds. Blocks meanwhile, without holding the interpreter lock."""
    import pickle  # here, not at the top: a snapshot that never forks need not load it

    reader, writer = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(reader)
        os.close(writer)
        return None
    if pid == 0:
        _child(work, reader, writer)
    os.close(writer)
    try:
        payload = _read_all(reader, time.monotonic() + timeout)
    finally:
        os.close(reader)
    if payload is None:
        os.kill(pid, signal.SIGKILL)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if payload is None or status != 0:
        return None
    try:
        return pickle.loads(payload)  # our own child's bytes
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        return None


def _child(work: Callable[[], object], reader: int, writer: int) -> None:
    """Compute, write, and leave without running any of the parent's cleanup."""
    import pickle  # imported by the parent before forking: no import lock taken here

    status = CHILD_FAILED
    try:
        os.close(reader)
        payload = pickle.dumps(work(), pickle.HIGHEST_PROTOCOL)
        with os.fdopen(writer, "wb") as out:
            out.write(payload)
        status = 0
    finally:
        os._exit(status)


def _read_all(reader: int, deadline: float) -> bytes | None:
    """Everything the child writes until it closes the pipe; None past `deadline`.
    poll(2), not select(2): a collector reading many namespaces holds a socket and
    files for each, so the pipe's descriptor may be past select's 1024."""
    chunks: list[bytes] = []
    waiting = select.poll()
    waiting.register(reader, select.POLLIN)
    while (left := deadline - time.monotonic()) > 0:
        if not waiting.poll(left * 1000):
            return None
        chunk = os.read(reader, READ_SIZE)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    return None
