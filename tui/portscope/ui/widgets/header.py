"""The header strip: host, interfaces and gateway, ephemeral usage, pressure, TCP
throughput, polling state.

It subscribes to each poll shown, each health report, each traffic report and each
failed poll (`ui.live`); the throughput is there only while traffic is collected;
it never reads the OS itself. The gauge takes the colour of the most pressed
destination, and the strip carries a `-warning` or `-critical` class while any
destination (or other finding) is at that level. The gauges line is made of parts with
priorities (`PRIORITY`): a narrow terminal drops the least important ones whole (the
sparkline first, `⏸ paused` last), never cuts one.
"""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from portscope.analysis import (
    DestinationPressure,
    HealthReport,
    Level,
    TrafficReport,
    percent_label,
    worst,
)
from portscope.events import PollFailed
from portscope.model import EphemeralRange, Snapshot, endpoint
from portscope.sanitise import printable
from portscope.ui.actions import first_key
from portscope.ui.live import Live
from portscope.ui.narrow import by_priority
from portscope.view.showing import Shown
from portscope.view.traffic_groups import total_text

HISTORY = 150
GAUGE_CELLS = 10
LABEL = "dim"
SPARK_MIN = 4
PRIORITY = {
    "paused": 10,
    "health": 9,
    "pressure-gauge": 8,
    "usage": 7,
    "range": 6,
    "polling": 5,
    "throughput": 7,
    "pressure-detail": 4,
    "spark": 1,
}
"""Which parts of the gauges line stay when it is narrow: highest first."""


def gauge(used: int, usable: int) -> str:
    filled = 0 if usable <= 0 else min(GAUGE_CELLS, round(GAUGE_CELLS * used / usable))
    if used and not filled:
        filled = 1
    return "█" * filled + "░" * (GAUGE_CELLS - filled)


def gauge_style(share: float, level: Level) -> str:
    """Pressure on any one destination outranks how full the range is overall."""
    if level == "critical":
        return "bold $text-error"
    if level == "warning" or share >= 50:
        return "$text-warning"
    return "$text-success"


def pressure_percent(report: HealthReport) -> Content:
    """`max dest 93%`: short enough to sit beside the gauge even at 80 columns."""
    top = report.top_pressure
    if top is None:
        return Content("")
    return Content.assemble(
        ("max dest ", LABEL), (percent_label(top.percent), gauge_style(0.0, top.level))
    )


def pressure_detail(report: HealthReport) -> Content:
    """`(10.0.0.9:5432)`: which destination that is."""
    top = report.top_pressure
    if top is None:
        return Content("")
    dest = top.destination
    return Content(f"({printable(endpoint(dest.remote_address, dest.remote_port), 50)})")


def health_count(report: HealthReport, key: str) -> Content:
    """`▲ 2 health (p)`: the other findings the pressure view shows (listen drops and
    conntrack fill among them); `▲ 2 drop counters rose (p)` too when an alarm counter
    (connections lost: dropped, refused for memory) rose since the last poll. `key`
    opens that view (`p` unless the keymap says otherwise)."""
    others = [f for f in report.problems if not isinstance(f, DestinationPressure)]
    moved = report.counters.moved
    if not others and not moved:
        return Content("")
    level = worst([*(f.level for f in others), "warning" if moved else "ok"])
    parts = [f"{len(others)} health"] if others else []
    if moved:
        parts.append(f"{len(moved)} drop counter{'s' if len(moved) != 1 else ''} rose")
    return Content.assemble((f"▲ {' · '.join(parts)} ({key})", gauge_style(0.0, level)))


def set_if_changed(widget: Static, content: Content, wraps: bool = False) -> None:
    """Static.update re-lays out; skip it when the text and styles are the same.

    `Content.__eq__` compares text only, so the spans are compared too: a gauge that
    only changes colour must still repaint. A line that keeps its width (and cannot
    wrap) is repainted without a layout: re-laying out the screen every poll for a
    changed count took a frame of its own, and a second one for the scrollbars it
    touched.
    """
    old = widget.content
    if not isinstance(old, Content):
        widget.update(content)
    elif not (old == content and old.spans == content.spans):
        widget.update(content, layout=wraps or old.cell_length != content.cell_length)


def namespaces_part(snapshot: Snapshot) -> str:
    """`3 netns (1 unread)`: how many network namespaces the poll knows, when more than
    one (a host without containers has no need to hear of them)."""
    known = len(snapshot.namespaces)
    if known <= 1:
        return ""
    unread = sum(not ns.readable for ns in snapshot.namespaces)
    return f"{known} netns" + (f" ({unread} unread)" if unread else "")


def interfaces_line(snapshot: Snapshot) -> Content:
    table = snapshot.interfaces
    parts: list[str | tuple[str, str] | Content] = [(printable(snapshot.host, 40), "bold")]
    if snapshot.containers:
        count = len(snapshot.containers)
        parts += ["  ", f"{count} ", ("container" if count == 1 else "containers", LABEL)]
    spaces = namespaces_part(snapshot)
    if spaces:
        parts += ["  ", (spaces, "$text-accent")]
    for interface in table.interfaces:
        addresses = " ".join(printable(a, 45) for a in interface.addresses[:2])
        more = f" +{len(interface.addresses) - 2}" if len(interface.addresses) > 2 else ""
        parts += ["  ", (printable(interface.name, 16), "$text-accent"), f" {addresses}{more}"]
    for gateway in table.gateways:
        parts += [
            "  ",
            ("gw ", LABEL),
            f"{printable(gateway.address, 45)} ({printable(gateway.interface, 16)})",
        ]
    return Content.assemble(*parts)


class HeaderStrip(Vertical):
    """Three short lines; the notice line only when there is something to say."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: deque[float] = deque(maxlen=HISTORY)
        self.hosts = Static("starting…", id="hosts")
        self.range = Static("", id="range")
        self.usage = Static("", id="usage")
        self.pressure = Static("", id="pressure-gauge")
        self.pressure_detail = Static("", id="pressure-detail")
        self.health = Static("", id="health")
        self.throughput = Static("", id="throughput")
        self.level: Level = "ok"
        self.snapshot: Snapshot | None = None
        self._range: EphemeralRange | None = None
        self._used = 0
        self.shown: Shown | None = None
        self.netns: int | None = None
        """The namespace the panes are narrowed to (None: every one): the gauge shows
        its range and the ports lent there; else the snapshot's own namespace's."""
        self.netns_name = ""
        self.spark = Sparkline([], id="spark")
        self.polling = Static("", id="polling")
        self.paused = Static("", id="paused")
        self.notice = Static("", id="notice")

    @property
    def parts(self) -> tuple[Widget, ...]:
        """The gauges line, left to right."""
        return (
            self.range,
            self.usage,
            self.pressure,
            self.pressure_detail,
            self.health,
            self.throughput,
            self.spark,
            self.polling,
            self.paused,
        )

    def compose(self) -> ComposeResult:
        yield self.hosts
        with Horizontal(id="gauges"):
            yield from self.parts[:7]
            with Horizontal(id="polling-group"):
                yield from self.parts[7:]
        yield self.notice

    def on_mount(self) -> None:
        self.notice.display = False
        self._fit()
        live = Live.of(self)
        live.on_poll(self, self.show_poll)
        live.on_health(self, self.show_health)
        live.on_traffic(self, self.show_traffic)
        live.on_poll_failed(self, self._poll_failed)

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Show the parts of the gauges line that fit, by `PRIORITY`, each one whole."""
        room = self.content_region.width
        if room <= 0:
            return
        parts = [part for part in self.parts if self._wanted(part)]
        kept = by_priority([(PRIORITY[p.id or ""], self._width(p)) for p in parts], room)
        shown = {parts[i] for i in kept}
        for part in self.parts:
            if part.display != (part in shown):
                part.display = part in shown

    def _wanted(self, part: Widget) -> bool:
        if part is self.spark:
            return len(self.history) > 1
        return isinstance(part, Static) and bool(str(part.content))

    def _width(self, part: Widget) -> int:
        """Cells the part takes on the line, its padding and margins included."""
        styles = part.styles
        around = styles.padding.width + styles.margin.width
        if isinstance(part, Static) and isinstance(part.content, Content):
            return part.content.cell_length + around
        return SPARK_MIN + around

    def narrow_to(self, netns: int | None, name: str = "") -> None:
        """Gauge namespace `netns` (None: the snapshot's own), named `name`; its
        sparkline starts again, as it is another range's history."""
        self.netns, self.netns_name = netns, name
        self.history.clear()
        if self.shown is not None:
            self.show_poll(self.shown)

    def show_poll(self, shown: Shown) -> None:
        """The hosts line, and the ephemeral ports lent out on the gauge and sparkline
        (in the namespace narrowed to, against its own range)."""
        self.shown = shown
        self.snapshot = snapshot = shown.snapshot
        set_if_changed(self.hosts, interfaces_line(snapshot))
        if self.netns is None:
            self._range, used = snapshot.ephemeral_range, shown.lent
        else:
            self._range, used = (
                snapshot.range_in(self.netns),
                shown.lent_by_netns.get(self.netns, 0),
            )
        self._used = used
        self.history.append(used)
        self._show_usage()
        drawn = self.spark.data or []
        same_flat_line = min(self.history) == max(self.history) == min(drawn, default=-1)
        if not (same_flat_line and max(drawn) == used):
            self.spark.data = list(self.history)
        self.show_notice(snapshot)
        self._fit()

    def _show_usage(self) -> None:
        rng, used = self._range, self._used
        if rng is None:
            return
        share = 100 * used / rng.usable if rng.usable else 0.0
        where = f"{printable(self.netns_name, 24)} " if self.netns is not None else ""
        set_if_changed(
            self.range, Content.assemble((f"{where}ephemeral ", LABEL), f"{rng.low}–{rng.high}")
        )
        set_if_changed(
            self.usage,
            Content.assemble(
                (gauge(used, rng.usable), gauge_style(share, self.level)),
                f" {used:,}/{rng.usable:,} ({share:.1f}%)",
            ),
        )

    def show_health(self, report: HealthReport) -> None:
        """Colour the gauge by the most pressed destination; name it beside the gauge."""
        top = report.top_pressure
        self.level = top.level if top is not None else "ok"
        self._show_usage()
        set_if_changed(self.pressure, pressure_percent(report))
        set_if_changed(self.pressure_detail, pressure_detail(report))
        set_if_changed(self.health, health_count(report, first_key(self, "portscope.pressure")))
        overall = report.level
        self.set_class(overall == "warning", "-warning")
        self.set_class(overall == "critical", "-critical")
        self._fit()

    def show_traffic(self, report: TrafficReport) -> None:
        """Every TCP connection's rates together; nothing while traffic is not collected."""
        set_if_changed(self.throughput, Content(total_text(report)))
        self._fit()

    def _poll_failed(self, event: PollFailed) -> None:
        if self.snapshot is not None:
            self.show_notice(self.snapshot, event.error)

    def show_notice(self, snapshot: Snapshot, error: str = "") -> None:
        notes = []
        if error:
            notes.append(f"poll failed: {printable(error, 120)}")
        if not snapshot.privileged and snapshot.unattributed:
            notes.append(
                f"{snapshot.unattributed:,} sockets with hidden owners — run with sudo to see them"
            )
        unread = snapshot.unread_namespaces()
        if unread:
            notes.append(unread)
        notes.extend(printable(e, 120) for e in snapshot.errors[:1])
        set_if_changed(self.notice, Content(" · ".join(notes)), wraps=True)
        self.notice.display = bool(notes)

    def show_polling(self, interval: float, paused: bool) -> None:
        set_if_changed(self.polling, Content.assemble(("every ", LABEL), f"{interval:g}s"))
        set_if_changed(
            self.paused,
            Content.assemble(("⏸ paused", "bold $text-warning")) if paused else Content(),
        )
        self._fit()
