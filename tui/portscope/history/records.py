"""What the history holds and what its questions return: frozen records, no SQL.

The recorder writes `ClosedConnection`s and `ListenerEvent`s; `HistoryReader` hands
them back, with `PortHistory` for the lookup card and `HistoryPage` for `portscope
history` (and the dashboard's History view). Times are seconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from portscope.model import Family, Proto, endpoint, names_namespace

Ending = Literal["kernel", "poll", "unseen"]
"""How the end was seen: the kernel's destroy broadcast (exact time, final bytes); a poll
that no longer saw it, or saw it in TIME_WAIT (it ended by then); or not at all (open
when the recorder stopped, gone when it started again)."""
OwnerSource = Literal["socket", "listener"]
"""`socket`: a poll found the process holding the socket. `listener`: the connection
ended before any poll saw it, and it was accepted, so the listener's process is named."""
Bound = Literal["at least", "under"]
"""A lifetime from polls is a lower bound (seen alive at first, ended by the close); one
that only the kernel saw is an upper bound (no poll before its end had seen it)."""
ListenerChange = Literal["appeared", "gone"]
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Who:
    """A process as the history names it: what a poll saw, never looked up again."""

    pid: int | None
    process: str | None
    user: str | None
    place: str | None = None
    """The container (by name) or systemd unit it ran in, where known."""

    @property
    def label(self) -> str:
        """`curl (pid 4121)`, or as much of it as is known."""
        if self.pid is None:
            return self.process or "?"
        return f"{self.process or '?'} (pid {self.pid})"


@dataclass(frozen=True, slots=True)
class ClosedConnection:
    """One connection's story, from this machine's end of it.

    A connection between two local processes (loopback) is one row: the end that
    dialled (`accepted` False), with the process at the other end as `peer`.
    `sent`/`received` are the kernel's final tcp_info counts, known only when the kernel
    reported the end: bytes the peer acknowledged (tcpi_bytes_acked, which counts the
    SYN and the FIN as one byte each) and bytes received (counting the peer's FIN).
    `uid` is the socket's owner's uid as the socket table gave it, known even when the
    process is not.
    """

    proto: Proto
    family: Family
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    closed: float
    ended: Ending
    accepted: bool
    opened: float | None = None
    state: str | None = None
    lifetime: float | None = None
    bound: Bound | None = None
    sent: int | None = None
    received: int | None = None
    uid: int | None = None
    owner: Who | None = None
    owner_from: OwnerSource | None = None
    peer: Who | None = None
    netns: int | None = None
    """The inode of the network namespace it lived in (None: recorded before schema 3)."""
    netns_name: str | None = None
    """That namespace's name when it ended: `host`, an `ip netns` or container name."""

    @property
    def remote(self) -> str:
        return endpoint(self.remote_address, self.remote_port)

    @property
    def local(self) -> str:
        return endpoint(self.local_address, self.local_port)


@dataclass(frozen=True, slots=True)
class ListenerEvent:
    """A listener that appeared or went, as the polls saw it. `port` is None for a UDP
    socket bound to a port the kernel lent (in the ephemeral range, no peer): those
    come and go with every DNS query, so they are one listener per process and address."""

    at: float
    change: ListenerChange
    proto: Proto
    family: Family
    address: str
    port: int | None
    exposure: str
    owner: Who | None = None
    uid: int | None = None
    while_stopped: bool = False
    """Seen only by comparing with the last run: it changed while no recorder watched."""
    netns: int | None = None
    netns_name: str | None = None
    """Its network namespace's inode and name, as for `ClosedConnection`."""


@dataclass(frozen=True, slots=True)
class Run:
    """One recorder's run: what it could see, from when to when."""

    started: float
    last_write: float
    stopped: float | None
    interval: float
    kernel_events: bool
    note: str | None = None
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    since: float
    until: float


@dataclass(frozen=True, slots=True)
class PortHistory:
    """The lookup card's History: the latest connection on the port (either end) in the
    window, and how many there were."""

    port: int
    window: Window
    last: ClosedConnection | None
    count: int
    runs: tuple[Run, ...]
    """The recorder's runs that overlap the window: none means nothing was recorded."""


@dataclass(frozen=True, slots=True)
class PortHistories:
    """What the history says about each looked-up port, or why it says nothing."""

    ports: dict[int, PortHistory]
    unavailable: str | None = None
    source: str | None = None
    """Where the answer comes from, when it is not the database asked for (the
    dashboard's own polls, and why)."""


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What `portscope history` (and the History view) narrows to; None matches all.
    `port` matches either end; `remote_address` matches its IPv4-mapped spelling too."""

    since: float
    until: float
    port: int | None = None
    process: str | None = None
    remote_address: str | None = None
    remote_port: int | None = None
    netns: str | None = None
    """A network namespace by name, inode or `netns:<inode>` (see `model.names_namespace`);
    rows from before schema 3 name none, so match none."""

    def in_netns(self, inode: int | None, name: str | None) -> bool:
        """Whether a record of namespace `inode`, named `name` then, passes `netns`."""
        if self.netns is None:
            return True
        return inode is not None and names_namespace(self.netns, inode, (name or "",))


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """The newest connections and listener events that match, with counts over all of
    the window's matches."""

    filter: HistoryFilter
    connections: tuple[ClosedConnection, ...]
    listener_events: tuple[ListenerEvent, ...]
    total: int
    by_process: tuple[tuple[str, int], ...]
    by_destination: tuple[tuple[str, int], ...]
    runs: tuple[Run, ...]


@dataclass(frozen=True, slots=True)
class OpenConnection:
    """A connection a poll saw alive, kept so a restarted recorder knows since when."""

    id: int
    opened: float
    proto: Proto
    family: Family
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    accepted: bool
    state: str | None = None
    uid: int | None = None
    owner: Who | None = None
    netns: int | None = None
    netns_name: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """What one write puts in the history, in one transaction."""

    closed: tuple[ClosedConnection, ...] = ()
    listener_events: tuple[ListenerEvent, ...] = ()
    opened: tuple[OpenConnection, ...] = ()
    finished: tuple[int, ...] = ()
    """Ids of open connections that ended (their rows go)."""
