"""The shipped alert rules: promtool accepts them, their unit tests pass (each alert fires
on a series that should fire it and stays quiet on one that should not), and every
metric they name is one the exporter really writes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import SOURCE_ROOT, run_portscope
from exporter_support import needs_promtool

RULES = SOURCE_ROOT / "portscope" / "exporter" / "portscope.rules.yml"
RULE_TESTS = Path(__file__).with_name("rules") / "portscope.rules.test.yml"
ALERTS = {
    "PortscopeEphemeralPortsExhausted", "PortscopeEphemeralPortsHigh", "PortscopeAcceptQueueFull",
    "PortscopeAcceptQueueFilling", "PortscopeCloseWaitGrowing", "PortscopeListenerExposed",
    "PortscopeExporterDown", "PortscopePollFailing", "PortscopeMetricsStale",
    "PortscopeSeriesDropped",
}  # fmt: skip


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], capture_output=True, text=True, timeout=120, check=False
    )


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in done.stdout


@needs_promtool
def test_each_alert_fires_when_it_should_and_only_then() -> None:
    done = promtool("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert tested == ALERTS == set(re.findall(r"- alert: (\w+)", RULES.read_text()))


def test_the_rules_name_only_metrics_the_exporter_writes() -> None:
    done = run_portscope("metrics")
    assert done.returncode == 0, done.stderr
    written = set(re.findall(r"^# TYPE (\w+) ", done.stdout, re.MULTILINE))
    named = set(re.findall(r"\bportscope_\w+", RULES.read_text()))
    assert named, "the rules name portscope's metrics"
    assert named <= written | {f"{name}_total" for name in written}
