"""From polls and the kernel's socket ends to the history's rows.

Two witnesses see a connection: the polls, which know its process but only while it
exists at a poll, and the kernel's destroy broadcast (`collect.destroyed`), which
reports every end, with its bytes, but names no owner. The ledger joins them by
4-tuple and writes one row per connection when it ends:

- a poll that sees a connection for the first time opens it (and names its process);
  it ends when the kernel reports its end, or when a poll no longer sees it or sees it
  in TIME_WAIT (the kernel's remnant after its owner closed it);
- an end no poll saw is a connection shorter than a poll: no process is known, but an
  accepted one names the listener's process;
- each network namespace has its own addresses and ports, so a connection is known by
  its namespace's inode with its 4-tuple, and two namespaces' 0.0.0.0:8080 are two
  listeners; the kernel's ends come from a feed in each namespace, which says whose;
- every end waits `GRACE` seconds before it is written: for the kernel's word on an end
  a poll found (the broadcast can arrive after the poll that missed the socket), for a
  poll still on its way that saw the socket alive, and for the other end of a
  connection between two local processes, which then makes one row (the end that
  dialled, with the process that accepted as its `peer`).

Pure and single-threaded: the recorder's writer thread feeds it and takes its batches.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from portscope.addresses import is_loopback, plain_address
from portscope.collect.netlink import Ended
from portscope.delta import Delta
from portscope.exposure import WILDCARDS
from portscope.history.listeners import HOST, ListenerId, listener_id
from portscope.history.records import (
    Batch,
    Bound,
    ClosedConnection,
    Ending,
    ListenerChange,
    ListenerEvent,
    OpenConnection,
    OwnerSource,
    Who,
)
from portscope.history.store import Recovered
from portscope.model import (
    TIME_WAIT,
    EphemeralRange,
    Family,
    Owner,
    Proto,
    Snapshot,
    Socket,
    SocketKey,
)

GRACE = 2.0
"""Seconds an end waits for its other witness or its other end (see the module)."""

NAMES_KEPT = 600.0
"""Seconds a namespace's name is remembered after the last poll that listed it: its
last ends may come after it is gone."""

ConnKey = tuple[Proto, Family, str, int, str, int, int]
"""(proto, family, local address, local port, remote address, remote port, netns)."""


def mirror(key: ConnKey) -> ConnKey:
    """The other end's key, in the same namespace (a loopback peer is always there)."""
    proto, family, local, local_port, remote, remote_port, netns = key
    return (proto, family, remote, remote_port, local, local_port, netns)


def who(owner: Owner | None) -> Who | None:
    return None if owner is None else Who(owner.pid, owner.name, owner.user, owner.where)


@dataclass(slots=True)
class Live:
    """A connection a poll saw alive."""

    id: int
    opened: float
    state: str | None
    owner: Owner | None
    uid: int | None
    accepted: bool


@dataclass(slots=True)
class Closing:
    """An end, waiting out its grace before it is written."""

    key: ConnKey
    closed: float
    due: float
    ended: Ending
    accepted: bool
    state: str | None = None
    opened: float | None = None
    lifetime: float | None = None
    bound: Bound | None = None
    sent: int | None = None
    received: int | None = None
    uid: int | None = None
    owner: Who | None = None
    owner_from: OwnerSource | None = None
    open_id: int | None = None

    def seen_alive(self, at: float, sock: Socket) -> None:
        """A poll at `at`, before this end, saw the connection: it names the process."""
        if self.opened is None or at < self.opened:
            self.opened = at
        self.lifetime, self.bound = max(0.0, self.closed - self.opened), "at least"
        self.state = sock.state
        if sock.owner is not None:
            self.owner, self.owner_from = who(sock.owner), "socket"
        self.uid = sock.uid


class Ledger:
    """Follows connections and listeners; `take` hands over what is ready to write."""

    def __init__(self, recovered: Recovered | None = None) -> None:
        recovered = recovered or Recovered((), (), 1)
        self._recovered_open = {key_of_open(o): o for o in recovered.open_connections}
        self._recovered_listeners = {identity_of(e): e for e in recovered.listeners}
        self._next_id = recovered.next_open_id
        self._live: dict[ConnKey, Live] = {}
        self._closing: dict[ConnKey, Closing] = {}
        self._ended: dict[ConnKey, float] = {}
        """Ends written, by 4-tuple: a TIME_WAIT remnant of one in the next poll is not a
        new connection, nor is a poll taken before the end. Kept until two polls later."""
        self._listeners: dict[SocketKey, tuple[ListenerId, Socket]] = {}
        self._present: Counter[ListenerId] = Counter()
        self._by_port: dict[tuple[str, int, int], list[Socket]] = {}
        """Listeners by (proto, port, netns)."""
        self._names: dict[int, tuple[str, float]] = {}
        """Namespace inode -> its name at the last poll that listed it, and when."""
        self._home = 0
        """The namespace the polls are taken in, whose addresses `_local` holds."""
        self._local: set[str] = set()
        self._ephemeral: EphemeralRange | None = None
        self._ranges: Mapping[int, EphemeralRange] = {}
        """Each namespace's own range, where the poll read one (`Snapshot.ranges`)."""
        self._polls: list[float] = []
        self._settled: list[ClosedConnection] = []
        self._events: list[ListenerEvent] = []
        self._opened: list[OpenConnection] = []
        self._finished: list[int] = []
        self.peerless = 0
        """Ends the kernel reported without a peer (a closed listener, an unconnected
        UDP socket, a refused or reset connect whose peer the kernel had cleared)."""

    @property
    def last_poll(self) -> float | None:
        return self._polls[-1] if self._polls else None

    def poll(self, snapshot: Snapshot, delta: Delta) -> None:
        """One poll's changes (its Delta against the poll before)."""
        at = snapshot.taken_at
        previous = self.last_poll
        self._polls = [*self._polls[-1:], at]
        first = previous is None
        self._local = {
            plain_address(a) for i in snapshot.interfaces.interfaces for a in i.addresses
        }
        self._ephemeral = snapshot.ephemeral_range
        self._ranges = snapshot.ranges
        self._home = snapshot.home
        self._names.update((ns.inode, (ns.name, at)) for ns in snapshot.namespaces)
        self._names = {i: seen for i, seen in self._names.items() if seen[1] >= at - NAMES_KEPT}
        self._follow_listeners(snapshot, delta, at, first)
        for sock in delta.removed:
            if not sock.is_listener:
                self._gone(connection_key(sock), at, previous)
        for sock in delta.replaced:
            if not sock.is_listener:
                self._gone(connection_key(sock), at, previous)
                self._seen(sock, at, snapshot)
        for sock in (*delta.added, *delta.changed):
            if not sock.is_listener:
                self._seen(sock, at, snapshot)
        if first:
            self._close_unseen(at)

    def netns_name(self, netns: int) -> str:
        """Namespace `netns`'s name as the polls last had it (`netns:<inode>` if none did)."""
        known = self._names.get(netns)
        return known[0] if known is not None else Snapshot.unnamed(netns)

    def ended(self, at: float, ends: Iterable[Ended], netns: int = 0) -> None:
        """Sockets the kernel destroyed in namespace `netns`, as its broadcast there
        reported them at `at`."""
        for end in ends:
            raw = end.socket
            if not raw.remote_port or raw.remote_address is None:
                self.peerless += 1
                continue
            key: ConnKey = (
                raw.proto, raw.family, raw.local_address, raw.local_port,
                raw.remote_address, raw.remote_port, netns,
            )  # fmt: skip
            closing = self._closing.get(key)
            if closing is not None and closing.ended == "poll":
                # a poll found it gone first: the kernel says when, and how much
                closing.ended, closing.closed = "kernel", min(closing.closed, at)
                closing.sent, closing.received = end.bytes_acked, end.bytes_received
                continue
            live = self._live.pop(key, None)
            if live is not None:
                self._close(
                    key, live, at, "kernel", live.state, end.bytes_acked, end.bytes_received
                )
                continue
            accepted = (raw.proto, raw.local_port, netns) in self._by_port
            listener = self._listener_owner(raw.proto, raw.local_address, raw.local_port, netns)
            last = self.last_poll
            self._wait(
                Closing(
                    key,
                    closed=at,
                    due=at + GRACE,
                    ended="kernel",
                    accepted=accepted,
                    state=raw.state,
                    lifetime=max(0.0, at - last) if last is not None and last < at else None,
                    bound="under" if last is not None and last < at else None,
                    sent=end.bytes_acked,
                    received=end.bytes_received,
                    owner=who(listener) if accepted else None,
                    owner_from="listener" if accepted and listener is not None else None,
                )
            )

    def take(self, now: float = math.inf) -> Batch:
        """Everything ready to write: ends whose grace is over (`now` = inf: all of
        them, at the end of a run), listener events, open connections new and ended."""
        for key in [k for k, c in self._closing.items() if c.due <= now]:
            self._settle(key)
        if len(self._polls) == 2:  # what ended before the last poll but one is settled
            horizon = min(now, self._polls[0]) - GRACE
            self._ended = {k: t for k, t in self._ended.items() if t >= horizon}
        batch = Batch(
            tuple(self._settled), tuple(self._events), tuple(self._opened), tuple(self._finished)
        )
        self._settled, self._events, self._opened, self._finished = [], [], [], []
        return batch

    def _wait(self, closing: Closing) -> None:
        """Hold an end for its grace; one already waiting on its 4-tuple was an earlier
        connection there (the kernel reuses a free 4-tuple at once), written first."""
        if closing.key in self._closing:
            self._settle(closing.key)
        self._closing[closing.key] = closing

    def _settle(self, key: ConnKey) -> None:
        """The row for the end at `key`, and its other end's if that is waiting too."""
        closing = self._closing.pop(key, None)
        if closing is not None:  # else written already, as the other end of its connection
            self._settled.append(self._row(closing, self._closing.pop(mirror(key), None)))

    def _seen(self, sock: Socket, at: float, snapshot: Snapshot) -> None:
        key = connection_key(sock)
        closing = self._closing.get(key)
        if sock.state == TIME_WAIT:
            live = self._live.pop(key, None)
            if live is not None:
                self._close(key, live, at, "poll", TIME_WAIT, None, None)
            elif closing is None and key not in self._ended:
                self._wait(Closing(
                    key, closed=at, due=at + GRACE, ended="poll", state=TIME_WAIT,
                    accepted=self._accepted(sock, snapshot),
                ))  # fmt: skip
            return
        if closing is not None and at <= closing.closed:
            closing.seen_alive(at, sock)
            return
        if at <= self._ended.get(key, -math.inf):
            return  # this poll was taken before an end already written
        live = self._live.get(key)
        if live is None:
            self._open(key, sock, at, snapshot)
        else:
            live.state, live.uid = sock.state, sock.uid
            live.owner = sock.owner or live.owner

    def _open(self, key: ConnKey, sock: Socket, at: float, snapshot: Snapshot) -> None:
        recovered = self._recovered_open.pop(key, None)
        if recovered is not None:
            live = Live(
                recovered.id, recovered.opened, sock.state, sock.owner, sock.uid, recovered.accepted
            )
        else:
            live = Live(
                self._next_id, at, sock.state, sock.owner, sock.uid, self._accepted(sock, snapshot)
            )
            self._next_id += 1
        self._live[key] = live
        self._opened.append(
            OpenConnection(
                live.id, live.opened, sock.proto, sock.family, key[2], key[3], key[4], key[5],
                live.accepted, sock.state, sock.uid, who(sock.owner), sock.netns,
                snapshot.namespace_name(sock.netns),
            )
        )  # fmt: skip

    def _gone(self, key: ConnKey, at: float, previous: float | None) -> None:
        """A poll at `at` no longer saw the connection the poll at `previous` saw."""
        live = self._live.pop(key, None)
        if live is None:
            self._ended.pop(key, None)
            return
        self._close(key, live, at, "poll", live.state, None, None, seen=previous)

    def _close(
        self,
        key: ConnKey,
        live: Live,
        at: float,
        ended: Ending,
        state: str | None,
        sent: int | None,
        received: int | None,
        seen: float | None = None,
    ) -> None:
        """`live` ended at `at`; a poll at `seen` (default: `at`) last saw it alive."""
        alive_until = at if seen is None else seen
        self._wait(
            Closing(
                key,
                closed=at,
                due=at + GRACE,
                ended=ended,
                accepted=live.accepted,
                state=state,
                opened=live.opened,
                lifetime=max(0.0, alive_until - live.opened),
                bound="at least",
                sent=sent,
                received=received,
                uid=live.uid,
                owner=who(live.owner),
                owner_from="socket" if live.owner is not None else None,
                open_id=live.id,
            )
        )

    def _close_unseen(self, at: float) -> None:
        """After the first poll: what the last run had open and this poll did not find
        ended while no recorder watched."""
        for key, gone in self._recovered_open.items():
            self._wait(Closing(
                key, closed=at, due=at, ended="unseen", accepted=gone.accepted, state=gone.state,
                opened=gone.opened, uid=gone.uid, open_id=gone.id, owner=gone.owner,
                owner_from="socket" if gone.owner is not None else None,
            ))  # fmt: skip
        self._recovered_open = {}

    def _row(self, end: Closing, other: Closing | None) -> ClosedConnection:
        """The row for one end, or for a local connection's two ends (the dialling one,
        with the accepting one's process as its peer)."""
        for closed in (end, other):
            if closed is not None:
                self._recheck_accepted(closed)
        if other is not None and self._dialled(other) and not self._dialled(end):
            end, other = other, end
        for closed in (end, other):
            if closed is not None:
                self._ended[closed.key] = closed.closed
                if closed.open_id is not None:
                    self._finished.append(closed.open_id)
        sent, received = end.sent, end.received
        if other is not None:
            peer = other.owner
            if sent is None:
                sent, received = other.received, other.sent
        else:
            peer = self._peer_of(end)
        proto, family, local, local_port, remote, remote_port, netns = end.key
        return ClosedConnection(
            proto=proto, family=family, local_address=local, local_port=local_port,
            remote_address=remote, remote_port=remote_port, closed=end.closed, ended=end.ended,
            accepted=end.accepted, opened=end.opened, state=end.state, lifetime=end.lifetime,
            bound=end.bound, sent=sent, received=received, uid=end.uid, owner=end.owner,
            owner_from=end.owner_from, peer=peer, netns=netns, netns_name=self.netns_name(netns),
        )  # fmt: skip

    def _recheck_accepted(self, end: Closing) -> None:
        """An end only the kernel saw was judged when it came; a listener a poll has
        found since on its port makes it accepted (the listener's process named)."""
        port = (end.key[0], end.key[3], end.key[6])
        if end.accepted or end.opened is not None or port not in self._by_port:
            return
        end.accepted = True
        if end.owner is None:
            listener = self._listener_owner(end.key[0], end.key[2], end.key[3], end.key[6])
            end.owner, end.owner_from = who(listener), "listener" if listener else None

    def _dialled(self, end: Closing) -> bool:
        """Whether this end of a local pair is the one that connected: not accepted, and,
        when neither end looks accepted (no poll has seen the listener yet), the one on a
        port of the ephemeral range."""
        if end.accepted:
            return False
        lent = self._ranges.get(end.key[6], self._ephemeral)
        return lent is None or end.key[3] in lent

    def _peer_of(self, end: Closing) -> Who | None:
        """The local process at the other end of a connection that dialled this machine:
        the other end's holder if a poll knows it, else the listener's."""
        if end.accepted:
            return None
        proto, _family, _local, _port, remote, remote_port, netns = end.key
        # the addresses of the polls' own namespace are known; elsewhere, only loopback
        home = netns == self._home and plain_address(remote) in self._local
        if not (is_loopback(remote) or home):
            return None
        live = self._live.get(mirror(end.key))
        if live is not None and live.owner is not None:
            return who(live.owner)
        return who(self._listener_owner(proto, remote, remote_port, netns))

    def _listener_owner(self, proto: str, address: str, port: int, netns: int) -> Owner | None:
        """Who listens in namespace `netns` where a connection to (`address`, `port`)
        would be accepted."""
        candidates = self._by_port.get((proto, port, netns), [])
        wanted = plain_address(address)
        for sock in candidates:
            if plain_address(sock.local_address) == wanted and sock.owner is not None:
                return sock.owner
        for sock in candidates:
            if plain_address(sock.local_address) in WILDCARDS and sock.owner is not None:
                return sock.owner
        return None

    def _accepted(self, sock: Socket, snapshot: Snapshot) -> bool:
        return (sock.proto, sock.local_port, sock.netns) in snapshot.listening_ports

    def _follow_listeners(self, snapshot: Snapshot, delta: Delta, at: float, first: bool) -> None:
        """Listener events for what appeared and went (per `ListenerId`)."""
        for sock in delta.removed:
            held = self._listeners.pop(sock.key, None) if sock.is_listener else None
            if held is not None:
                self._leave(*held, at)
        for sock in (*delta.replaced, *delta.changed, *delta.added):
            if not sock.is_listener:
                continue
            identity = listener_id(sock, snapshot)
            held = self._listeners.pop(sock.key, None)
            self._listeners[sock.key] = (identity, sock)
            if held is not None and held[0] == identity:
                continue  # the same listener, a queue or owner detail changed
            if held is not None:
                self._leave(*held, at)
            self._present[identity] += 1
            if self._present[identity] == 1 and not first:
                self._event(identity, sock, at, "appeared")
        by_port: dict[tuple[str, int, int], list[Socket]] = {}
        for _identity, sock in self._listeners.values():
            by_port.setdefault((sock.proto, sock.local_port, sock.netns), []).append(sock)
        self._by_port = by_port
        if first:
            self._compare_with_last_run(at)

    def _leave(self, identity: ListenerId, sock: Socket, at: float) -> None:
        self._present[identity] -= 1
        if self._present[identity] <= 0:
            del self._present[identity]
            self._event(identity, sock, at, "gone")

    def _compare_with_last_run(self, at: float) -> None:
        """The first poll's listeners against those the last run left present."""
        found = {identity: sock for identity, sock in self._listeners.values()}
        for identity, sock in found.items():
            if not any(identity.matches(known) for known in self._recovered_listeners):
                self._event(identity, sock, at, "appeared", while_stopped=True)
        for known, event in self._recovered_listeners.items():
            if not any(known.matches(identity) for identity in found):
                self._events.append(replace(event, at=at, change="gone", while_stopped=True))
        self._recovered_listeners = {}

    def _event(
        self,
        identity: ListenerId,
        sock: Socket,
        at: float,
        change: ListenerChange,
        while_stopped: bool = False,
    ) -> None:
        self._events.append(
            ListenerEvent(
                at, change, sock.proto, sock.family, sock.local_address, identity.port,
                identity.exposure, who(sock.owner), sock.uid, while_stopped, sock.netns,
                identity.netns,
            )
        )  # fmt: skip


def connection_key(sock: Socket) -> ConnKey:
    return (
        sock.proto, sock.family, sock.local_address, sock.local_port,
        sock.remote_address or "", sock.remote_port or 0, sock.netns,
    )  # fmt: skip


def key_of_open(o: OpenConnection) -> ConnKey:
    return (o.proto, o.family, o.local_address, o.local_port, o.remote_address, o.remote_port,
            o.netns or 0)  # fmt: skip


def identity_of(event: ListenerEvent) -> ListenerId:
    """The listener an event is about; one recorded before schema 3 was the host's."""
    process = event.owner.process if event.owner else None
    return ListenerId(
        event.proto, event.family, event.address, event.port, process,
        event.netns_name or HOST, event.exposure,
    )  # fmt: skip
