"""The header strip: host, interfaces and gateway, ephemeral usage, pressure, polling state.

Fed by the app from each snapshot and each health report; it never reads the OS itself.
The gauge takes the colour of the most pressed destination, and the strip carries a
`-warning` or `-critical` class while any destination (or other finding) is at that level.
"""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Sparkline, Static

from portscope.analysis import DestinationPressure, HealthReport, Level, worst
from portscope.model import EphemeralRange, Snapshot, endpoint
from portscope.report.health import percent_label
from portscope.sanitise import printable

HISTORY = 150
GAUGE_CELLS = 10
LABEL = "dim"


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
    """` (10.0.0.9:5432)  ▲ 2 health (p)`: which destination, and other findings to see."""
    parts: list[str | tuple[str, str]] = []
    top = report.top_pressure
    if top is not None:
        dest = top.destination
        parts.append(f"({printable(endpoint(dest.remote_address, dest.remote_port), 50)})")
    others = [f for f in report.problems if not isinstance(f, DestinationPressure)]
    if others:
        level = worst(f.level for f in others)
        parts += ["  ", (f"▲ {len(others)} health (p)", gauge_style(0.0, level))]
    return Content.assemble(*parts)


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


def interfaces_line(snapshot: Snapshot) -> Content:
    table = snapshot.interfaces
    parts: list[str | tuple[str, str] | Content] = [(printable(snapshot.host, 40), "bold")]
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
        self.usage = Static("", id="usage")
        self.pressure = Static("", id="pressure-gauge")
        self.pressure_detail = Static("", id="pressure-detail")
        self.level: Level = "ok"
        self._range: EphemeralRange | None = None
        self._used = 0
        self.spark = Sparkline([], id="spark")
        self.polling = Static("", id="polling")
        self.notice = Static("", id="notice")

    def compose(self) -> ComposeResult:
        yield self.hosts
        with Horizontal(id="gauges"):
            yield self.usage
            yield self.pressure
            yield self.pressure_detail
            yield self.spark
            yield self.polling
        yield self.notice

    def on_mount(self) -> None:
        self.notice.display = False
        self.spark.display = False

    def show_snapshot(self, snapshot: Snapshot, used: int) -> None:
        """`used`: the ephemeral ports lent out (`PortUse.lent`)."""
        set_if_changed(self.hosts, interfaces_line(snapshot))
        self._range, self._used = snapshot.ephemeral_range, used
        self.history.append(used)
        self._show_usage()
        shown = self.spark.data or []
        same_flat_line = min(self.history) == max(self.history) == min(shown, default=-1)
        if not (same_flat_line and max(shown) == used):
            self.spark.data = list(self.history)
        self.spark.display = len(self.history) > 1
        self.show_notice(snapshot)

    def _show_usage(self) -> None:
        rng, used = self._range, self._used
        if rng is None:
            return
        share = 100 * used / rng.usable if rng.usable else 0.0
        set_if_changed(
            self.usage,
            Content.assemble(
                ("ephemeral ", LABEL),
                f"{rng.low}–{rng.high} ",
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
        overall = report.level
        self.set_class(overall == "warning", "-warning")
        self.set_class(overall == "critical", "-critical")

    def show_notice(self, snapshot: Snapshot, error: str = "") -> None:
        notes = []
        if error:
            notes.append(f"poll failed: {printable(error, 120)}")
        if not snapshot.privileged and snapshot.unattributed:
            notes.append(
                f"{snapshot.unattributed:,} sockets with hidden owners — run with sudo to see them"
            )
        notes.extend(printable(e, 120) for e in snapshot.errors[:1])
        set_if_changed(self.notice, Content(" · ".join(notes)), wraps=True)
        self.notice.display = bool(notes)

    def show_polling(self, interval: float, paused: bool) -> None:
        marks: list[str | tuple[str, str]] = [("every ", LABEL), f"{interval:g}s"]
        if paused:
            marks += [" ", ("⏸ paused", "bold $text-warning")]
        set_if_changed(self.polling, Content.assemble(*marks))
