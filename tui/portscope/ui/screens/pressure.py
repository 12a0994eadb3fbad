"""The pressure view (`p`): which destinations are running out of source ports, and leaks.

A full screen reads best at 80x24: the destination table gets every line it can, the
findings (CLOSE_WAIT trends, accept queues) and the kernel's counters (listen drops,
conntrack fill, the counters that rose since the last poll) sit below it. It subscribes
to the health reports (`ui.live`), the latest one first; it never analyses anything.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from portscope.analysis import HealthReport
from portscope.ui.actions import Scope, bindings
from portscope.ui.live import Live
from portscope.ui.pressure_text import findings_text, kernel_text, summary_text
from portscope.ui.widgets.socket_table import SocketTable
from portscope.view.pressure_rows import PRESSURE_COLUMNS, pressure_row


class PressureScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = bindings(Scope.PRESSURE)

    def __init__(self) -> None:
        super().__init__()
        self.report: HealthReport | None = None
        self.summary = Static("waiting for the first analysis…", id="pressure-summary")
        self.table = SocketTable(
            PRESSURE_COLUMNS,
            sort_column="percent",
            reverse=True,
            selectable=False,
            empty_text="no connection draws on the ephemeral range",
            id="pressure-table",
        )
        self.findings = Static("", id="pressure-findings")
        self.kernel = Static("", id="pressure-kernel")

    def compose(self) -> ComposeResult:
        with Vertical(id="pressure"):
            yield self.summary
            yield self.table
            with VerticalScroll(id="pressure-health"):
                yield self.findings
                yield self.kernel
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(
            "#pressure-health"
        ).border_title = "CLOSE_WAIT, accept queues, kernel counters"
        Live.of(self).on_health(self, self.show_health)
        if self.report is None:
            self.table.border_title = "ephemeral ports per destination"
        self.table.focus()

    def show_health(self, report: HealthReport) -> None:
        self.report = report
        self.summary.update(summary_text(report))
        self.table.replace_rows(pressure_row(p) for p in report.pressure)
        count = f"{len(report.pressure):,}"
        if report.destinations > len(report.pressure):
            count += f" most pressed of {report.destinations:,}"
        self.table.border_title = f"ephemeral ports per destination · {count}"
        self.findings.update(findings_text(report))
        self.kernel.update(kernel_text(report))
