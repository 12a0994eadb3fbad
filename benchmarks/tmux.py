"""The dashboard in a real terminal: a private tmux server we can type into and read back.

Measuring from outside is the point: a key press goes through the pty like a user's,
and "screen updated" means tmux's copy of the screen changed, as a user would see it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

TMUX_TIMEOUT = 10.0
POLL_EVERY = 0.005
SESSION = "bench"
LIFETIME = 600
"""Seconds the command may live: if the benchmark dies, nothing outlives it for long."""


def only_child(pid: int, patience: float = TMUX_TIMEOUT) -> int:
    """The one child process of `pid`, once it has been started."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if children:
                return int(children[0])
        time.sleep(POLL_EVERY)
    raise TimeoutError(f"process {pid} started no child")


class TmuxApp:
    """One command running alone in a detached tmux session of a fixed size, under
    `timeout` so that it cannot outlive a benchmark that died; `pid` is the command's."""

    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], size: tuple[int, int] = (160, 48)
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.size = size
        self.server = f"portscope-bench-{os.getpid()}"
        self.pid = 0
        self.started = 0.0

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.server, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=TMUX_TIMEOUT,
            check=True,
        )
        return done.stdout

    def __enter__(self) -> TmuxApp:
        width, height = self.size
        exports = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        self.started = time.perf_counter()
        self.tmux(
            "new-session", "-d", "-s", SESSION, "-x", str(width), "-y", str(height),
            *exports, "--", "timeout", str(LIFETIME), *self.argv,
        )  # fmt: skip
        self.pid = only_child(int(self.tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}")))
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.tmux("kill-server")
        deadline = time.monotonic() + TMUX_TIMEOUT
        while self.pid and os.path.exists(f"/proc/{self.pid}") and time.monotonic() < deadline:
            time.sleep(0.05)

    def screen(self, styled: bool = True) -> str:
        """What the terminal shows now; `styled` keeps colours, so a cursor move counts."""
        return self.tmux("capture-pane", "-p", *(["-e"] if styled else []), "-t", SESSION)

    def press(self, key: str) -> None:
        self.tmux("send-keys", "-t", SESSION, key)

    def wait_until(
        self, done: Callable[[str], bool], timeout: float, styled: bool = True
    ) -> float | None:
        """Seconds until `done(screen)` holds, or None if it never did within `timeout`."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if done(self.screen(styled)):
                return time.perf_counter() - started
            time.sleep(POLL_EVERY)
        return None
