"""The kernel's socket-end broadcasts in every network namespace the polls list.

A sock_diag socket hears the destroy broadcasts of the namespace it was made in, and
of that one for life (`destroyed`): so each namespace gets a feed of its own, made by
a short-lived thread that entered it (`nshandle.run_inside`), and a namespace's feed
is closed once no poll lists it. One selector waits on all of them, so one reader
thread serves every namespace and never enters any itself. Without CAP_SYS_ADMIN
(not root) only our own namespace can be joined.
"""

from __future__ import annotations

import errno
import selectors
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

from portscope.collect.destroyed import DestroyFeed, EventsLost
from portscope.collect.namespaces import (
    NETNS_DIR,
    PROC_ROOT,
    Inventory,
    Namespace,
    NamespaceKind,
)
from portscope.collect.netlink import Ended, NetlinkUnavailable
from portscope.collect.nshandle import run_inside
from portscope.collect.setns import NamespaceGone
from portscope.model import NamespaceInfo

Say = Callable[[str], None]
DRAIN = 16
"""Buffers read from a ready feed before the selector is asked again: at 1,000
connections a second a buffer holds many ends, and each select is a system call."""


@dataclass(frozen=True, slots=True)
class Heard:
    """What one namespace's feed brought: ends at `at`, or that some were lost
    (`lost`), or that the feed failed and was closed (`failed`: why)."""

    netns: int
    at: float = 0.0
    ends: tuple[Ended, ...] = ()
    lost: bool = False
    failed: str | None = None


def namespace_of(info: NamespaceInfo) -> Namespace:
    """A poll's namespace as discovery had it, for its ways in (`Inventory.entry_paths`:
    its `ip netns` names, which a poll keeps as aliases, then its processes)."""
    kind = cast(NamespaceKind, info.kind)
    return Namespace(info.inode, info.name, kind, info.pids, info.aliases)


class NamespaceFeeds:
    """A destroy feed in our own namespace (opened at once: NetlinkUnavailable if
    refused), and in each other one handed to `want` (joined by `receive`, on the
    reader's thread, as entering one blocks for a moment)."""

    def __init__(
        self, own: int, say: Say, proc_root: str = PROC_ROOT, netns_dir: str = NETNS_DIR
    ) -> None:
        self.own = own
        self.say = say
        self._inventory = Inventory((), own, {}, 0, proc_root, netns_dir)
        self._selector = selectors.DefaultSelector()
        self._feeds: dict[int, DestroyFeed] = {}
        self._names: dict[int, str] = {}
        self._wanted: tuple[NamespaceInfo, ...] | None = None
        self._joined: frozenset[int] = frozenset()
        self._refused: set[int] = set()
        self._may_enter = True
        self._add(own, DestroyFeed(timeout=0), "this namespace")

    @property
    def namespaces(self) -> frozenset[int]:
        """The inodes of the namespaces with a feed."""
        return frozenset(self._feeds)

    def want(self, namespaces: Iterable[NamespaceInfo]) -> None:
        """The namespaces of the latest poll: any thread may call this, never waiting."""
        self._wanted = tuple(ns for ns in namespaces if ns.readable)

    def receive(self, timeout: float) -> list[Heard]:
        """Join and leave namespaces as the latest `want` says, then what the feeds
        brought within `timeout` seconds."""
        self._follow()
        heard = []
        for key, _events in self._selector.select(timeout):
            heard += self._drain(key.data)
        return heard

    def _drain(self, netns: int) -> list[Heard]:
        """Up to DRAIN buffers of a ready feed (its socket never blocks)."""
        feed = self._feeds[netns]
        heard = []
        for _buffer in range(DRAIN):
            try:
                at, ends = feed.receive()
            except EventsLost:
                heard.append(Heard(netns, lost=True))
                continue
            except OSError as exc:
                self._remove(netns)
                heard.append(Heard(netns, failed=exc.strerror or str(exc)))
                break
            if not ends:
                break
            heard.append(Heard(netns, at, tuple(ends)))
        return heard

    def name(self, netns: int) -> str:
        return self._names.get(netns, f"netns:{netns}")

    def close(self) -> None:
        for netns in list(self._feeds):
            self._remove(netns)
        self._selector.close()

    def _follow(self) -> None:
        wanted = self._wanted
        if wanted is None:
            return
        inodes = frozenset(ns.inode for ns in wanted)
        if inodes == self._joined:
            return
        self._joined = inodes
        for netns in set(self._feeds) - inodes - {self.own}:
            self._remove(netns)
        self._refused &= inodes
        for info in wanted:
            self._names[info.inode] = info.name
            if info.inode not in self._feeds and info.inode not in self._refused:
                self._join(info)
        self._names = {i: n for i, n in self._names.items() if i in self._feeds}

    def _join(self, info: NamespaceInfo) -> None:
        if not self._may_enter:
            self._refused.add(info.inode)
            return
        try:
            feed = run_inside(self._inventory, namespace_of(info), lambda: DestroyFeed(timeout=0))
        except NamespaceGone:
            return  # the next poll will not list it
        except NetlinkUnavailable as exc:
            self._refused.add(info.inode)
            self.say(f"no socket-end events in network namespace {info.name}: {exc.strerror}")
            return
        except OSError as exc:
            self._refused.add(info.inode)
            if exc.errno in (errno.EPERM, errno.EACCES):
                self._may_enter = False
                self.say(
                    "may not enter other network namespaces (not root): their connections "
                    "shorter than a poll are missed"
                )
            else:
                self.say(f"cannot enter network namespace {info.name}: {exc.strerror or exc}")
            return
        self._add(info.inode, feed, f"network namespace {info.name}")

    def _add(self, netns: int, feed: DestroyFeed, called: str) -> None:
        self._feeds[netns] = feed
        self._selector.register(feed, selectors.EVENT_READ, netns)
        if netns != self.own:
            self.say(f"hearing socket ends in {called} too")

    def _remove(self, netns: int) -> None:
        feed = self._feeds.pop(netns, None)
        if feed is not None:
            self._selector.unregister(feed)
            feed.close()
