"""A running collector hands back the same Socket for an unchanged socket, a new one
for a socket that changed, and the Delta between polls says exactly that."""

from __future__ import annotations

import os
import select

from portscope.collect import Collector
from portscope.delta import Delta
from portscope.model import Snapshot, Socket
from sockets import SocketFarm

PATIENCE = 5.0


def by_inode(snapshot: Snapshot, farm: SocketFarm) -> dict[int, Socket]:
    mine = {os.fstat(s.fileno()).st_ino for s in farm.sockets}
    return {s.inode: s for s in snapshot.sockets if s.inode in mine}


def test_unchanged_sockets_are_the_same_objects_and_not_in_the_delta(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    farm.connect(listener, count=5)
    farm.udp_socket()
    collector = Collector(source="netlink")
    first = collector.collect()
    second = collector.collect()
    before, after = by_inode(first, farm), by_inode(second, farm)
    assert len(after) == len(farm.sockets)
    assert all(after[inode] is before[inode] for inode in after)
    delta = Delta.between(first, second)
    touched = {s.inode for s in (*delta.added, *delta.removed, *delta.changed)}
    assert touched.isdisjoint(after)


def test_a_socket_whose_queue_grew_is_a_new_object_in_changed(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    (client, server), *_rest = farm.connect(listener, count=3)
    collector = Collector(source="netlink")
    first = collector.collect()
    client.sendall(b"unread")
    assert select.select([server], [], [], PATIENCE)[0], "loopback data never arrived"
    second = collector.collect()
    receiver = os.fstat(server.fileno()).st_ino
    sender = os.fstat(client.fileno()).st_ino  # may still wait for a (delayed) ACK
    before, after = by_inode(first, farm), by_inode(second, farm)
    assert after[receiver].rx_queue == len(b"unread")
    assert after[receiver] is not before[receiver]
    changed = {s.inode for s in Delta.between(first, second).changed if s.inode in after}
    assert receiver in changed <= {receiver, sender}
    assert all(after[i] is before[i] for i in after if i not in (receiver, sender))
