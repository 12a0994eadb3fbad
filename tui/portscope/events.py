"""What the poller publishes: records only, so that readers of them (the analysis,
the CLI) need not import the poller's asyncio machinery."""

from __future__ import annotations

from dataclasses import dataclass

from portscope.delta import Delta
from portscope.model import Snapshot


@dataclass(frozen=True, slots=True)
class PollUpdate:
    """A successful poll and what changed since the previous successful one."""

    snapshot: Snapshot
    delta: Delta
    sequence: int


@dataclass(frozen=True, slots=True)
class PollFailed:
    """A poll that raised; `retry_in` is how long the loop waits before trying again."""

    error: str
    at: float
    consecutive: int
    retry_in: float


PollEvent = PollUpdate | PollFailed


def describe_error(exc: BaseException) -> str:
    """One line naming what went wrong, for the header and for stderr."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
