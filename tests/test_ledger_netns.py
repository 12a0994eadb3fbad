"""The ledger across network namespaces: the same 4-tuple or the same listener in two
namespaces is two of them, each named by its namespace (the real recorder across
namespaces runs in test_recorder_netns.py)."""

from __future__ import annotations

from dataclasses import replace

from portscope.model import EphemeralRange, NamespaceInfo, Snapshot, Socket
from portscope.recorder.ledger import Ledger
from test_ledger import CLIENT, NGINX, end, poll

HOST, WEB = 4026531840, 4026532999
SPACES = (NamespaceInfo(HOST, "host", "host"), NamespaceInfo(WEB, "web", "container"))


def listener(netns: int) -> Socket:
    return Socket("tcp", "ipv4", "0.0.0.0", 8080, state="LISTEN", owner=NGINX, inode=netns % 97,
                  netns=netns)  # fmt: skip


def snapshot(at: float, *sockets: Socket) -> Snapshot:
    listeners = tuple(s for s in sockets if s.is_listener)
    connections = tuple(s for s in sockets if not s.is_listener)
    return Snapshot(at, "test", True, EphemeralRange(32768, 60999), listeners, connections,
                    namespaces=SPACES)  # fmt: skip


def test_the_same_4_tuple_ending_in_two_namespaces_is_two_rows_each_named() -> None:
    ledger = Ledger()
    poll(ledger, None, snapshot(100.0))
    ledger.ended(100.5, [end(*CLIENT)], HOST)
    ledger.ended(100.5, [end(*CLIENT)], WEB)
    rows = ledger.take().closed
    assert sorted((r.netns, r.netns_name) for r in rows) == [(HOST, "host"), (WEB, "web")]


def test_two_namespaces_listening_on_one_port_are_two_listeners_not_one_flapping() -> None:
    ledger = Ledger()
    first = poll(ledger, None, snapshot(100.0))
    second = poll(ledger, first, snapshot(101.0, listener(HOST), listener(WEB)))
    appeared = ledger.take().listener_events
    assert sorted((e.change, e.netns_name) for e in appeared) == [
        ("appeared", "host"), ("appeared", "web"),
    ]  # fmt: skip
    poll(ledger, second, snapshot(102.0, listener(HOST)))  # the container's goes
    (gone,) = ledger.take().listener_events
    assert (gone.change, gone.netns, gone.netns_name) == ("gone", WEB, "web")


def test_an_end_in_a_namespace_names_that_namespaces_listener_not_the_hosts() -> None:
    ledger = Ledger()
    other = replace(NGINX, pid=9999, name="web-server")
    web = replace(listener(WEB), owner=other)
    poll(ledger, None, snapshot(100.0, listener(HOST), web))
    ledger.ended(100.5, [end("10.88.0.2", 8080, "10.88.0.1", 40404)], WEB)
    (row,) = ledger.take().closed
    assert row.accepted and row.owner is not None and row.owner.process == "web-server"
    assert row.netns_name == "web"
