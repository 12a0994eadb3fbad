"""Run a job inside another network namespace without moving the caller.

setns(2) moves only the calling thread, so the job runs on a thread of its own that
enters the namespace, runs, and ends: the event loop and the poller's worker stay
where they are, and no pooled thread is ever handed back in a foreign namespace.
What the job opens there stays bound to that namespace after the thread is gone: a
netlink socket dumps that namespace's sockets, and an open /proc/sys/net file reads
that namespace's value, from any thread (see `nshandle`). Python 3.12 has os.setns;
3.10 and 3.11 call libc's setns through ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
from collections.abc import Callable
from functools import cache
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


class NamespaceGone(OSError):
    """The namespace file now names another namespace (its process exited and the pid
    was reused) or none at all."""


@cache
def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def libc_setns(fd: int, nstype: int) -> None:
    """setns(2) through ctypes, for Pythons without os.setns."""
    if libc().setns(fd, nstype) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


setns: Callable[[int, int], None] = getattr(os, "setns", libc_setns)


def enter(path: str, inode: int | None) -> None:
    """Move the calling thread into the network namespace at `path`, checking it is
    the one with `inode` (when given) on the very fd it enters."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise NamespaceGone(errno.ENOENT, f"{path}: gone") from exc
    try:
        if inode is not None and os.fstat(fd).st_ino != inode:
            raise NamespaceGone(errno.ESTALE, f"{path}: no longer namespace {inode}")
        setns(fd, CLONE_NEWNET)
    finally:
        os.close(fd)


def run_in_netns(path: str, job: Callable[[], T], inode: int | None = None) -> T:
    """`job()` run on a fresh thread inside the network namespace at `path`; its result,
    or its exception (NamespaceGone, or OSError if entering is refused) raised here.

    Blocks the caller until the job is done: call it from a worker thread, never from
    the event loop.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def inside() -> None:
        try:
            enter(path, inode)
            outcome.append(job())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=inside, name="portscope-netns", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
