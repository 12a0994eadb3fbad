"""`portscope check` output: a monitoring-plugin status line, details and JSON.

The first line is `PORTSCOPE <STATUS> - <summary> | <perfdata>`, which Nagios,
Icinga and Sensu read as is; each following line is one problem or note. Every line
passes through `plugin_text` as it is written, so nothing a process names itself can
end the summary early or forge perfdata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from portscope.analysis import HealthReport, Level, percent_label
from portscope.analysis.levels import SEVERITY, worst
from portscope.analysis.retransmits import RetransmitLimits, RetransmitRate
from portscope.history.baseline import ListenerDiff, listener_entry
from portscope.report.baseline import listener_label
from portscope.report.health import (
    describe,
    destination_label,
    health_record,
    pressure_record,
    retransmit_record,
)
from portscope.sanitise import perf_label, plugin_text, printable

SCHEMA = "portscope.check/1"
UNEXPOSED = ("loopback", "container")
"""Exposures a new listener may have without paging: loopback, and a container's
unpublished one, which only the host and that container's network reach."""
STATUS = {"ok": "OK", "warning": "WARNING", "critical": "CRITICAL"}
EXIT_CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
UNKNOWN = EXIT_CODES["UNKNOWN"]
ONE_POLL = "CLOSE_WAIT growth and listen drops need two polls: pass --interval"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What `check` prints and how it exits."""

    status: str
    summary: str
    details: tuple[str, ...]
    perfdata: str
    record: dict[str, Any]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def text(self) -> str:
        head = f"PORTSCOPE {self.status} - {plugin_text(self.summary)}"
        lines = [f"{head} | {self.perfdata}" if self.perfdata else head]
        return "\n".join([*lines, *map(plugin_text, self.details)])


def perfdata(
    report: HealthReport,
    retransmits: Sequence[RetransmitRate] = (),
    limits: RetransmitLimits | None = None,
) -> str:
    """Figures a monitoring system can graph: value;warn;crit;min;max. Listen drops
    (over the interval) and conntrack fill only where they were measured; the highest
    retransmission share only when a limit for it was set."""
    t = report.thresholds
    bounds = f"{t.warning:g};{t.critical:g};0;100"
    top = report.top_pressure.percent if report.top_pressure else 0.0
    queue = max((q.percent or 0.0 for q in report.accept_queues), default=0.0)
    close_wait = sum(trend.count for trend in report.close_wait)
    figures = {
        "max_pressure": f"{top:.1f}%;{bounds}",
        "max_accept_queue": f"{queue:.1f}%;{bounds}",
        "time_wait": str(report.time_wait),
        "close_wait": str(close_wait),
    }
    if report.listen_drops is not None:
        drops = f"{t.listen_drops_warning};{t.listen_drops_critical};0"
        figures["listen_drops"] = f"{report.listen_drops.dropped};{drops}"
    if report.conntrack is not None:
        fill = f"{t.conntrack_warning:g};{t.conntrack_critical:g};0;100"
        figures["conntrack"] = f"{report.conntrack.percent:.1f}%;{fill}"
    if limits is not None and limits.enabled:
        resent = max((r.percent for r in retransmits), default=0.0)
        warn, crit = ("" if v is None else f"{v:g}" for v in (limits.warning, limits.critical))
        figures["max_retransmit"] = f"{resent:.1f}%;{warn};{crit};0;100"
    return " ".join(f"{perf_label(label)}={value}" for label, value in figures.items())


def ok_summary(report: HealthReport) -> str:
    top = report.top_pressure
    pressure = (
        f"highest ephemeral pressure {percent_label(top.percent)} "
        f"({destination_label(top.destination)})"
        if top
        else "no outgoing connections"
    )
    trend = "not growing" if report.polls > 1 else "not trended (one poll)"
    drops = ", no listen drops" if report.listen_drops is not None else ""
    return f"{pressure}, no accept queue filling, CLOSE_WAIT {trend}{drops}"


def baseline_problems(diff: ListenerDiff) -> list[tuple[Level, str]]:
    """A new listener exposed beyond loopback is critical; any other new or missing one
    a warning; each named."""
    found: list[tuple[Level, str]] = []
    for identity in diff.new:
        level: Level = "warning" if identity.exposure in UNEXPOSED else "critical"
        found.append((level, f"new listener {listener_label(identity)}, not in the baseline"))
    for identity in diff.missing:
        found.append(("warning", f"listener {listener_label(identity)} from the baseline is gone"))
    return found


def baseline_perfdata(diff: ListenerDiff) -> str:
    """The counts, and each new or missing listener as a figure of its own (its label)."""
    figures = [f"new_listeners={len(diff.new)}", f"missing_listeners={len(diff.missing)}"]
    figures += [f"{perf_label('new ' + listener_label(i))}=1" for i in diff.new]
    figures += [f"{perf_label('missing ' + listener_label(i))}=1" for i in diff.missing]
    return " ".join(figures)


def outcome(
    report: HealthReport,
    errors: Sequence[str] = (),
    retransmits: Sequence[RetransmitRate] = (),
    limits: RetransmitLimits | None = None,
    baseline: ListenerDiff | None = None,
) -> Outcome:
    """Status, summary and details for one health report, the poll's read errors,
    (when `limits` were set) each destination's retransmission share and, with
    `baseline`, the listeners that differ from a baseline."""
    findings = [*report.problems, *(r for r in retransmits if r.level != "ok")]
    found = [(f.level, describe(f, report.place_of(f))) for f in findings]
    found += baseline_problems(baseline) if baseline is not None else []
    found.sort(key=lambda item: -SEVERITY[item[0]])  # the worst first, in order
    problems = [f"{STATUS[level]}: {text}" for level, text in found]
    details = problems + [f"UNKNOWN: could not read {printable(e)}" for e in errors]
    notes = [] if report.polls > 1 else [ONE_POLL]
    status = STATUS[worst(level for level, _text in found)]
    if found:
        first = found[0][1]
        summary = first if len(found) == 1 else f"{first} (+{len(found) - 1} more)"
    elif errors:
        status, summary = "UNKNOWN", f"could not read everything: {printable(errors[0])}"
    else:
        summary = ok_summary(report)
        if baseline is not None:
            summary += ", listeners as in the baseline"
    perf = perfdata(report, retransmits, limits)
    if baseline is not None:
        perf += " " + baseline_perfdata(baseline)
    health = health_record(report)
    record = {
        "schema": SCHEMA,
        "status": status,
        "exit_code": EXIT_CODES[status],
        "summary": summary,
        "problems": [{"level": level, "text": text} for level, text in found],
        "errors": list(errors),
        "notes": notes,
        "perfdata": perf,
        "pressure": [pressure_record(p) for p in report.pressure],
        "retransmits": [retransmit_record(r) for r in retransmits],
        "health": health,
    }
    if baseline is not None:
        record["baseline"] = {
            "new": [listener_entry(i) for i in baseline.new],
            "missing": [listener_entry(i) for i in baseline.missing],
        }
    return Outcome(status, summary, tuple(details + notes), perf, record)


def failure(reason: str) -> Outcome:
    """The check could not poll at all: UNKNOWN, by the plugin convention."""
    summary = printable(reason)
    record = {"schema": SCHEMA, "status": "UNKNOWN", "exit_code": UNKNOWN, "summary": summary}
    return Outcome("UNKNOWN", summary, (), "", record)
