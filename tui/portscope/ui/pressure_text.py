"""The pressure view's words around its table: the verdict, and the health findings
as lines, in their levels' colours (the table's rows are `view/pressure_rows.py`).

Every figure comes from a `HealthReport`; nothing is recomputed here, only worded.
"""

from __future__ import annotations

from textual.content import Content

from portscope.analysis import (
    CounterChange,
    Finding,
    HealthReport,
    Level,
    percent_label,
)
from portscope.model import WATCHED_COUNTERS
from portscope.report.health import describe

LEVEL_STYLE: dict[Level, str] = {
    "ok": "",
    "warning": "$text-warning",
    "critical": "bold $text-error",
}
TW_REUSE = {None: "unknown", 0: "off", 1: "on", 2: "loopback only"}
MEANINGS = {counter.name: counter.meaning for counter in WATCHED_COUNTERS}


def finding_line(finding: Finding, report: HealthReport) -> Content:
    """One finding, worded as `portscope check` words it, in its level's colour."""
    mark = {"ok": "  ", "warning": "▲ ", "critical": "✖ "}[finding.level]
    said = describe(finding, report.place_of(finding))
    return Content.styled(mark + said, LEVEL_STYLE[finding.level])


def findings_text(report: HealthReport) -> Content:
    """CLOSE_WAIT per process (growing first) and listeners whose accept queue is filling."""
    lines = [finding_line(t, report) for t in report.close_wait]
    lines += [finding_line(q, report) for q in report.accept_queues if q.level != "ok"]
    if not lines:
        return Content.styled(
            "no process holds CLOSE_WAIT sockets; no accept queue is filling up", "dim"
        )
    return Content("\n").join(lines)


def counter_line(change: CounterChange) -> Content:
    """`▲ TcpExtListenOverflows +12 (6/s): accept queue full: …`; an alarm counter (one
    whose rise means connections were lost) is marked and in the warning colour."""
    rate = "" if change.rate is None else f" ({change.rate:.3g}/s)"
    mark = "▲ " if change.alarm else "  "
    line = f"{mark}{change.name} +{change.delta or 0:,}{rate}: {MEANINGS.get(change.name, '')}"
    return Content.styled(line, "$text-warning" if change.alarm else "")


def kernel_text(report: HealthReport) -> Content:
    """The kernel's own view: listen drops and conntrack fill, then every watched counter
    that rose since the previous poll, with its rate and what it counts."""
    lines = [
        finding_line(f, report) for f in (report.listen_drops, report.conntrack) if f is not None
    ]
    rose = [change for change in report.counters.changes if change.delta]
    if report.counters.seconds is None:
        lines.append(Content.styled("kernel counters: rates from the second poll on", "dim"))
    elif not rose:
        lines.append(Content.styled("kernel counters: none rose since the last poll", "dim"))
    lines += [counter_line(change) for change in rose]
    return Content("\n").join(lines)


def summary_text(report: HealthReport) -> Content:
    """The plain verdict first, then the figures that frame it."""
    pressed = [p for p in report.pressure if p.level != "ok"]
    top = report.top_pressure
    if pressed:
        critical = sum(p.level == "critical" for p in pressed)
        verdict = Content.styled(
            f"{len(pressed)} destination{'s' if len(pressed) != 1 else ''} under pressure"
            f" ({critical} critical)",
            LEVEL_STYLE[pressed[0].level],
        )
    else:
        highest = f" (highest {percent_label(top.percent)})" if top is not None else ""
        verdict = Content.styled(f"no destination is under pressure{highest}", "$text-success")
    thresholds = report.thresholds
    facts = (
        f"  ·  TIME_WAIT {report.time_wait:,}  ·  tcp_tw_reuse "
        f"{TW_REUSE.get(report.totals.tcp_tw_reuse, str(report.totals.tcp_tw_reuse))}"
        f"  ·  warn {thresholds.warning:g}% crit {thresholds.critical:g}%"
    )
    return Content.assemble(verdict, (facts, "dim"))
