"""The ledger's joins where timing decides, with polls and kernel ends handed to it in
the orders the recorder's threads can deliver them (the real recorder runs in
test_recorder.py; these orders are too rare there to be met on purpose)."""

from __future__ import annotations

from portscope.collect.netlink import Ended
from portscope.collect.procnet import RawSocket
from portscope.delta import Delta
from portscope.model import EphemeralRange, Owner, Snapshot, Socket
from portscope.recorder.ledger import GRACE, Ledger

CURL = Owner(4121, "curl", "alice")
NGINX = Owner(812, "nginx", "www-data")
LISTENER = Socket("tcp", "ipv4", "0.0.0.0", 443, state="LISTEN", owner=NGINX, inode=7)
CLIENT = ("192.0.2.10", 50000, "203.0.113.9", 443)


def snapshot(at: float, *sockets: Socket) -> Snapshot:
    listeners = tuple(s for s in sockets if s.is_listener)
    connections = tuple(s for s in sockets if not s.is_listener)
    return Snapshot(at, "test", True, EphemeralRange(32768, 60999), listeners, connections)


def poll(ledger: Ledger, previous: Snapshot | None, current: Snapshot) -> Snapshot:
    ledger.poll(current, Delta.between(previous, current))
    return current


def outgoing(state: str = "ESTABLISHED", owner: Owner | None = CURL) -> Socket:
    local, local_port, remote, remote_port = CLIENT
    inode = 99 if owner else 0
    return Socket("tcp", "ipv4", local, local_port, remote, remote_port, state, owner, inode)


def end(local: str, local_port: int, remote: str, remote_port: int) -> Ended:
    raw = RawSocket("tcp", "ipv4", local, local_port, remote, remote_port, "CLOSE", 0, 0, 0, 0)
    return Ended(raw, 120, 4000)


def test_a_poll_taken_before_the_end_but_handed_over_after_it_names_the_process() -> None:
    ledger = Ledger()
    first = poll(ledger, None, snapshot(100.0, LISTENER))
    ledger.ended(100.3, [end(*CLIENT)])  # the end arrives first...
    poll(ledger, first, snapshot(100.2, LISTENER, outgoing()))  # ...from a poll before it
    (row,) = ledger.take().closed
    assert (row.owner and row.owner.process, row.owner_from, row.bound) == (
        "curl", "socket", "at least",
    )  # fmt: skip
    assert (row.sent, row.received, row.ended) == (120, 4000, "kernel")


def test_a_time_wait_remnant_after_the_end_is_not_another_connection() -> None:
    ledger = Ledger()
    first = poll(ledger, None, snapshot(100.0, LISTENER))
    ledger.ended(100.3, [end(*CLIENT)])
    second = poll(ledger, first, snapshot(101.0, LISTENER, outgoing("TIME_WAIT", None)))
    assert len(ledger.take(100.3 + GRACE).closed) == 1
    third = poll(ledger, second, snapshot(102.0, LISTENER, outgoing("TIME_WAIT", None)))
    poll(ledger, third, snapshot(103.0, LISTENER))
    assert ledger.take().closed == ()


def test_a_poll_that_misses_a_socket_first_waits_for_the_kernels_word() -> None:
    ledger = Ledger()
    first = poll(ledger, None, snapshot(100.0, LISTENER, outgoing()))
    poll(ledger, first, snapshot(101.0, LISTENER))  # gone: the broadcast is late
    assert ledger.take(101.0).closed == ()
    ledger.ended(101.1, [end(*CLIENT)])
    (row,) = ledger.take().closed
    assert (row.ended, row.closed, row.sent, row.owner and row.owner.pid) == (
        "kernel", 101.0, 120, 4121,
    )  # fmt: skip


def test_an_accepted_end_no_poll_saw_names_the_listeners_process() -> None:
    ledger = Ledger()
    poll(ledger, None, snapshot(100.0, LISTENER))
    ledger.ended(100.5, [end("192.0.2.10", 443, "198.51.100.4", 40404)])
    (row,) = ledger.take().closed
    assert row.accepted and row.owner_from == "listener"
    assert row.owner is not None and row.owner.process == "nginx"
    assert (row.lifetime, row.bound) == (0.5, "under")
