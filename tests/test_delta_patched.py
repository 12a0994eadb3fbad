"""`Delta.between` looks only at sockets that are not the same object in both snapshots,
and `carry_index` patches the last index with them; each must say exactly what building
and comparing both whole indexes says.

The reference below is that whole comparison, written out plainly. Hypothesis draws
two polls from a small universe of sockets, reusing objects for sockets that stayed
(as the collectors do), making new objects for ones that moved, and sometimes
reporting a key twice (as a non-atomic kernel dump can).
"""

from __future__ import annotations

import dataclasses
import itertools
import pickle
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from portscope.collect import Collector
from portscope.delta import Delta, carry_index
from portscope.model import EphemeralRange, Snapshot, Socket, index_sockets
from sockets import SocketFarm

STATES = ("ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT", "LISTEN")


Ids = tuple[set[int], set[int], set[int], set[int]]


def reference(old: Snapshot, new: Snapshot) -> Ids:
    """(added, removed, changed, replaced) as object ids, from both indexes built from
    scratch."""
    before, after = index_sockets(old.sockets), index_sockets(new.sockets)
    added = {id(s) for k, s in after.items() if k not in before}
    removed = {id(s) for k, s in before.items() if k not in after}
    moved = [(s, before[k]) for k, s in after.items() if k in before and before[k] != s]
    changed = {id(s) for s, was in moved if s.continues(was)}
    replaced = {id(s) for s, was in moved if not s.continues(was)}
    return added, removed, changed, replaced


def ids(delta: Delta) -> Ids:
    parts = (delta.added, delta.removed, delta.changed, delta.replaced)
    return tuple({id(s) for s in part} for part in parts)  # type: ignore[return-value]


def snapshot(sockets: Sequence[Socket]) -> Snapshot:
    listeners = tuple(s for s in sockets if s.is_listener)
    return Snapshot(
        taken_at=0.0,
        host="test",
        privileged=True,
        ephemeral_range=EphemeralRange(32768, 60999),
        listeners=listeners,
        connections=tuple(s for s in sockets if not s.is_listener),
    )


def socket_at(port: int, state: str, queue: int, holder: int = 1) -> Socket:
    """`holder` 0: no inode (TIME_WAIT, an orphan); another holder is another socket."""
    return Socket(
        proto="tcp",
        family="ipv4",
        local_address="127.0.0.1",
        local_port=port,
        remote_address=None if state == "LISTEN" else "127.0.0.2",
        remote_port=None if state == "LISTEN" else 80,
        state=state,
        inode=port * holder,
        rx_queue=queue,
    )


universe = st.dictionaries(
    st.integers(40000, 40030),
    st.tuples(st.sampled_from(STATES), st.integers(0, 2), st.integers(0, 2)),
    max_size=25,
)


@given(
    first=universe,
    second=universe,
    kept=st.sets(st.integers(40000, 40030)),
    doubled=st.sets(st.integers(40000, 40030), max_size=3),
    doubled_before=st.sets(st.integers(40000, 40030), max_size=3),
)
def test_patched_delta_says_what_the_whole_comparison_says(
    first: dict[int, tuple[str, int, int]],
    second: dict[int, tuple[str, int, int]],
    kept: set[int],
    doubled: set[int],
    doubled_before: set[int],
) -> None:
    old_sockets = {port: socket_at(port, *fields) for port, fields in first.items()}
    new_sockets = [
        old_sockets[port] if port in kept and port in old_sockets else socket_at(port, *fields)
        for port, fields in second.items()
    ]
    new_sockets += [socket_at(port, *second[port]) for port in doubled if port in second]
    twice = [socket_at(port, *first[port]) for port in doubled_before if port in first]
    old, new = snapshot([*old_sockets.values(), *twice]), snapshot(new_sockets)
    uncarried = snapshot(new_sockets)
    old.by_key  # noqa: B018 - the previous poll's index exists, as it does in the poller
    unique = all(len(index_sockets(s.sockets)) == len(s.sockets) for s in (old, new))
    assert carry_index(old, new) == unique
    assert new.by_key == index_sockets(new.sockets)
    assert ids(Delta.between(old, new)) == reference(old, new)
    assert ids(Delta.between(old, uncarried)) == reference(old, uncarried)


def test_an_index_is_carried_once_and_never_replaced() -> None:
    """`carry_index` gives a new snapshot the old one's index, patched, and never
    replaces an index the snapshot already has."""
    kept, moved = socket_at(40000, "LISTEN", 0), socket_at(40001, "ESTABLISHED", 0)
    old = snapshot([kept, moved])
    new = snapshot([kept, socket_at(40001, "CLOSE_WAIT", 0)])
    assert carry_index(old, new)
    assert new.by_key == index_sockets(new.sockets)
    assert new.by_key is not old.by_key
    assert not carry_index(old, new), "an index the snapshot has is kept"


def test_patched_index_follows_real_polls(farm: SocketFarm) -> None:
    """Three real polls of changing loopback sockets: each Delta matches the reference,
    each patched index matches one built from scratch, and the collector's account of
    what it built and dropped is exactly what comparing objects finds. A Delta that
    skips a poll cannot use that account and still comes out right."""
    collector = Collector()
    listener = farm.tcp_listener("127.0.0.1")
    pairs = farm.connect(listener, 4)
    polls = [collector.collect()]
    farm.release(pairs[0][0])
    farm.connect(listener, 2)
    polls.append(collector.collect())
    farm.release(listener)
    farm.udp_socket("127.0.0.1")
    polls.append(collector.collect())
    assert polls[0].moved is None
    for old, new in itertools.pairwise(polls):
        assert new.moved is not None and new.moved.since is old.token
        assert {id(s) for s in new.moved.fresh} == {id(s) for s in new.sockets} - {
            id(s) for s in old.sockets
        }
        assert {id(s) for s in new.moved.gone} == {id(s) for s in old.sockets} - {
            id(s) for s in new.sockets
        }
    polls[0].by_key  # noqa: B018
    for old, new in itertools.pairwise(polls):
        carry_index(old, new)
        assert new.by_key == index_sockets(new.sockets)
        assert ids(Delta.between(old, new)) == reference(old, new)
    skipped = collector.collect()
    assert ids(Delta.between(polls[0], skipped)) == reference(polls[0], skipped)
    assert dataclasses.replace(skipped).moved is None  # a copy may hold other sockets
    copy = pickle.loads(pickle.dumps(skipped))  # its account names no snapshot here
    assert copy == skipped
    assert ids(Delta.between(polls[0], copy)) == reference(polls[0], copy)
