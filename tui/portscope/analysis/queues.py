"""Accept queues: connections the kernel has completed that a listener has not accepted.

For a LISTEN socket the queue length is `rx_queue` and the backlog `tx_queue`. The
kernel admits one connection beyond the backlog and then drops new ones until the
application calls accept(): that full queue is what this flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from portscope.analysis.levels import Level, Thresholds, percent_of
from portscope.model import Snapshot, Socket


@dataclass(frozen=True, slots=True)
class AcceptQueue:
    """One TCP listener's accept queue; `backlog` is None where the source cannot see it."""

    listener: Socket
    queued: int
    backlog: int | None
    percent: float | None
    level: Level

    @property
    def capacity(self) -> int | None:
        """How many the kernel holds before it drops: the backlog plus one."""
        return None if self.backlog is None else self.backlog + 1

    @property
    def full(self) -> bool:
        return self.backlog is not None and self.queued > self.backlog


def listener_queue(sock: Socket, thresholds: Thresholds | None = None) -> AcceptQueue | None:
    """The accept queue of a TCP listener, or None when the source reports no queues."""
    if sock.proto != "tcp" or not sock.is_listener or sock.rx_queue is None:
        return None
    backlog = sock.tx_queue
    if backlog is None:
        return AcceptQueue(sock, sock.rx_queue, None, None, "ok")
    percent = percent_of(sock.rx_queue, backlog + 1)
    level = (thresholds or Thresholds()).level(percent)
    return AcceptQueue(sock, sock.rx_queue, backlog, percent, level)


def accept_queues(snapshot: Snapshot, thresholds: Thresholds | None = None) -> list[AcceptQueue]:
    """Listeners with connections waiting to be accepted, fullest first."""
    queues = [
        queue
        for sock in snapshot.listeners
        if (queue := listener_queue(sock, thresholds)) is not None and queue.queued > 0
    ]
    queues.sort(key=lambda q: (-(q.percent or 0.0), -q.queued, q.listener.local_port))
    return queues
