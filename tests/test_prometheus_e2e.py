"""End to end: Debian's Prometheus scrapes `portscope serve` on loopback, and its HTTP
API answers for this test's own listener (with its process) and for the pressure of a
destination the test loads, as `ss` in the same network namespace says it should be.
The shipped rules load in the real server, and the one that should is pending."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from netns import needs_netns, run_in_netns
from test_alert_rules import ALERTS

SCENARIO = Path(__file__).with_name("prometheus_scenario.py")
CONNECTIONS = 150
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs Debian's prometheus package"
)


@needs_netns
@needs_prometheus
def test_prometheus_answers_for_our_listener_and_our_destinations_pressure() -> None:
    seen = json.loads(run_in_netns(SCENARIO, str(CONNECTIONS)).stdout)

    ((listener,),) = [seen["listener"]]  # named as the namespace it was served from
    assert listener["metric"] | {"instance": "?"} == {
        "__name__": "portscope_listener_info", "instance": "?", "job": "portscope",
        "netns": f"netns:{seen['own_netns']}", "process": seen["own_comm"], "proto": "tcp",
        "family": "ipv4",
        "address": "127.0.0.1", "port": seen["own_port"], "exposure": "loopback",
    }  # fmt: skip
    assert listener["value"][1] == "1"

    values = {}
    for name, series in seen["pressure"].items():
        (only,) = series
        assert only["metric"]["local_address"] == only["metric"]["remote_address"] == "127.0.0.1"
        values[name.removeprefix("portscope_destination_")] = float(only["value"][1])
    witness = seen["witness"]
    assert values["ephemeral_ports_in_use"] == witness["in_use"] == CONNECTIONS
    assert values["ephemeral_ports_budget"] == witness["budget"]
    assert values["pressure_ratio"] == pytest.approx(CONNECTIONS / witness["budget"], rel=1e-12)

    ((queue,),) = [seen["queue"]]
    assert float(queue["value"][1]) == 1.0, "backlog 1, two waiting: full"
    ((alert,),) = [seen["alerts"]]
    assert alert["labels"]["alertname"] == "PortscopeAcceptQueueFull"
    assert alert["labels"]["port"] == queue["metric"]["port"]
    assert alert["state"] == "pending", "for: 2m"
    assert {rule["name"]: rule["health"] for rule in seen["rules"]} == dict.fromkeys(ALERTS, "ok")
