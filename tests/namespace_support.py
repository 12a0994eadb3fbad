"""Real network namespaces for tests: `ip netns` names, processes in their own
`unshare --net` namespace, and `ss` run inside either as the witness."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ss import SsSocket, parse_line

LISTENER = Path(__file__).with_name("netns_listener.py")
PORT = 8081
TIMEOUT = 30


def unique_name(prefix: str = "portscope-test") -> str:
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def netns_inode_of(pid: int | str) -> int:
    """The inode of a process's network namespace, from its /proc link."""
    return int(os.readlink(f"/proc/{pid}/ns/net")[5:-1])


@contextmanager
def ip_netns() -> Iterator[str]:
    """A fresh `ip netns` namespace (deleted afterwards), by name."""
    name = unique_name()
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=TIMEOUT)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=TIMEOUT)


@dataclass
class Held:
    """A netns_listener.py child: its pid is in the namespace it holds sockets in."""

    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def inode(self) -> int:
        return netns_inode_of(self.pid)

    def connect(self) -> int:
        """One more connection inside; its client port."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("connect\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())


@contextmanager
def listener_in(prefix: Sequence[str], port: int = PORT) -> Iterator[Held]:
    """netns_listener.py run behind `prefix` (`ip netns exec NAME`, `unshare --net`),
    which execs it, so the child's pid is the listener's; stopped afterwards."""
    process = subprocess.Popen(
        [*prefix, sys.executable, str(LISTENER), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", "listener did not start"
        yield Held(process)
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ss_inside(prefix: Sequence[str]) -> set[SsSocket]:
    """Every TCP and UDP socket `ss` sees behind `prefix` (`ip netns exec NAME`,
    `nsenter --net=...`): the witness for a dump made from outside."""
    done = subprocess.run(
        [*prefix, "ss", "-tuanH"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    return {parse_line(line) for line in done.stdout.splitlines() if line.strip()}
