"""The Traffic view (`T`): which processes, destinations and network namespaces move the
most TCP data now, each with a sparkline of its rate over the last polls.

It subscribes to the traffic reports (`ui.live`) and needs traffic collected for as long
as it is open (`Live.need_traffic`); it never analyses anything. One list per
`GROUPINGS` entry, busiest first; a list's cursor stays on its group as the order
changes. Enter on a process opens its details.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, ListItem, ListView, Sparkline, Static

from portscope.analysis import TrafficReport
from portscope.model import Owner, Snapshot, Socket
from portscope.ui.actions import Scope, bindings
from portscope.ui.live import Live
from portscope.ui.screens.detail import sockets_of
from portscope.ui.text import text
from portscope.view.traffic_groups import (
    GROUPINGS,
    Grouping,
    GroupLine,
    group_lines,
    total_text,
)

LIMIT = 20
"""Groups listed of each kind."""
OpenProcess = Callable[[Owner, Socket], None]


class GroupItem(ListItem):
    """One group's line: its name, a sparkline of its rate, its figures."""

    def __init__(self) -> None:
        super().__init__(classes="traffic-line")
        self.line: GroupLine | None = None
        self.label = Static("", classes="traffic-label")
        self.spark = Sparkline([], classes="traffic-spark")
        self.figures = Static("", classes="traffic-figures")

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield self.label
            yield self.spark
            yield self.figures

    def show(self, line: GroupLine) -> None:
        self.line = line
        self.label.update(Content(line.label))
        self.spark.data = list(line.history) or [0.0]
        self.figures.update(Content(line.figures))


class GroupList(ListView):
    """The busiest groups of one kind, as many GroupItems as there are groups."""

    def __init__(self, grouping: Grouping) -> None:
        super().__init__(id=f"traffic-{grouping.kind}", classes="traffic-list")
        self.grouping = grouping
        self.border_title = grouping.title

    @property
    def lines(self) -> list[GroupLine]:
        """The lines shown, in order."""
        return [item.line for item in self.query(GroupItem) if item.line is not None]

    def show(self, lines: list[GroupLine]) -> None:
        """Each line into an item (items added or dropped as the count changes), the
        cursor kept on its group."""
        highlighted = self.highlighted_child
        line = highlighted.line if isinstance(highlighted, GroupItem) else None
        kept = None if line is None else line.key
        items = list(self.query(GroupItem))
        for item in items[len(lines) :]:
            item.remove()
        for _ in range(len(items), len(lines)):
            self.append(GroupItem())
        self.call_after_refresh(self._fill, lines, kept)

    def _fill(self, lines: list[GroupLine], kept: Hashable) -> None:
        items = list(self.query(GroupItem))
        for item, line in zip(items, lines, strict=False):
            item.show(line)
        self.border_title = f"{self.grouping.title} · {len(lines)}"
        keys = [line.key for line in lines]
        if kept in keys:
            self.index = keys.index(kept)
        elif lines and self.index is None:
            self.index = 0


class TrafficScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.TRAFFIC)

    def __init__(self, open_process: OpenProcess) -> None:
        super().__init__()
        self.open_process = open_process
        self.report: TrafficReport | None = None
        self.summary = Static("waiting for the first traffic report…", id="traffic-summary")
        self.lists = {grouping.kind: GroupList(grouping) for grouping in GROUPINGS}

    def compose(self) -> ComposeResult:
        with Vertical(id="traffic"):
            yield self.summary
            yield from self.lists.values()
        yield Footer()

    def on_mount(self) -> None:
        live = Live.of(self)
        live.need_traffic(self)
        live.on_traffic(self, self.show_traffic)
        self.lists["processes"].focus()

    def on_unmount(self) -> None:
        Live.of(self).release_traffic(self)

    def show_traffic(self, report: TrafficReport) -> None:
        self.report = report
        self.summary.update(summary_text(report))
        for grouping in GROUPINGS:
            self.lists[grouping.kind].show(group_lines(report, grouping, LIMIT))

    @on(ListView.Selected)
    def _selected(self, event: ListView.Selected) -> None:
        item = event.item
        line = item.line if isinstance(item, GroupItem) else None
        if line is None:
            return
        if line.kind != "processes":
            self.notify("Enter opens a process's details: pick one in the processes list")
            return
        if line.owner is None:
            self.notify(text("{why}", why=line.label), severity="warning")
            return
        report = self.report
        sock = socket_of(
            line.owner, Live.of(self).snapshot, report.snapshot if report is not None else None
        )
        if sock is None:
            self.notify(text("{who} holds no socket now", who=line.label), severity="warning")
            return
        self.open_process(line.owner, sock)


def socket_of(owner: Owner, *where: Snapshot | None) -> Socket | None:
    """A socket of `owner` in the first of `where` where it holds one."""
    for snapshot in where:
        held = sockets_of(owner, snapshot) if snapshot is not None else []
        if held:
            return held[0]
    return None


def summary_text(report: TrafficReport) -> Content:
    """What the view's lists are of, and all connections together."""
    if report.unavailable is not None:
        return text("No traffic counters: {why}.", why=report.unavailable)
    if report.interval is None:
        return Content("Traffic: the first poll with counters; rates from the next one.")
    return text(
        "{total} over the last {interval}s · busiest first",
        total=total_text(report),
        interval=f"{report.interval:.1f}",
    )
