"""Deltas between two real polls: a socket keeps its identity through a state change."""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import replace

from portscope.collect import Collector
from portscope.delta import Delta
from portscope.model import Snapshot, Socket
from sockets import SocketFarm


def touching(sockets: Iterable[Socket], *ports: int) -> list[Socket]:
    """The sockets with an end on 127.0.0.1 at one of `ports`."""
    ends = {("127.0.0.1", port) for port in ports}
    return [
        s
        for s in sockets
        if (s.local_address, s.local_port) in ends or (s.remote_address, s.remote_port) in ends
    ]


def test_delta_follows_listeners_and_state_changes(farm: SocketFarm) -> None:
    """Between two polls: one listener opens, one closes, and a connection's client end
    closes (FIN_WAIT1/2, no owner, no inode) while the server end sits in CLOSE_WAIT."""
    collector = Collector()
    old_listener = farm.tcp_listener("127.0.0.1")
    ((client, _server),) = farm.connect(old_listener)
    old_port, client_port = old_listener.getsockname()[1], client.getsockname()[1]
    before = collector.collect()

    new_port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    farm.release(old_listener)
    farm.release(client)
    after = collector.collect()

    delta = Delta.between(before, after)
    added = touching(delta.added, old_port, new_port)
    removed = touching(delta.removed, old_port, new_port)
    changed = {s.local_port: s for s in touching(delta.changed, old_port, new_port)}
    assert [(s.local_port, s.state) for s in added] == [(new_port, "LISTEN")]
    assert [(s.local_port, s.state) for s in removed] == [(old_port, "LISTEN")]
    assert changed.keys() == {old_port, client_port}
    assert changed[old_port].state == "CLOSE_WAIT"
    assert changed[client_port].state in ("FIN_WAIT1", "FIN_WAIT2"), "the peer's ACK may lag"
    assert changed[old_port].pid is not None and changed[client_port].owner is None


def test_first_poll_adds_everything_and_a_repeat_changes_nothing_of_ours(farm: SocketFarm) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener, 3)
    port = listener.getsockname()[1]
    collector = Collector()
    first: Snapshot = collector.collect()
    assert len(touching(Delta.between(None, first).added, port)) == 7
    again = Delta.between(first, collector.collect())
    assert not any(touching(part, port) for part in (again.added, again.removed, again.changed))


def test_each_socket_has_one_key_object_shared_by_every_index(farm: SocketFarm) -> None:
    """At 20,000 sockets a key tuple per socket per holder (the snapshot's index, the
    Delta's, each row, each timer) was ~2 MB of duplicates: one socket, one key. A copy
    with other fields gets the key of those fields, never the original's."""
    listener = farm.tcp_listener("127.0.0.1")
    farm.connect(listener, 2)
    port = listener.getsockname()[1]
    collector = Collector()
    first = collector.collect()
    second = collector.collect()
    Delta.between(first, second)
    for snapshot in (first, second):
        held = touching(snapshot.sockets, port)
        assert len(held) == 5
        assert all(next(k for k in snapshot.by_key if k == s.key) is s.key for s in held)
    (server,) = (s for s in touching(second.sockets, port) if s.is_listener)
    moved = replace(server, state="CLOSE_WAIT", local_port=port + 1)
    assert moved.key == ("tcp", "ipv4", "127.0.0.1", port + 1, None, None, 0, server.netns)
    assert pickle.loads(pickle.dumps(server)).key == server.key
