"""`portscope check` output is read by Nagios, Icinga and Sensu, which split each line at
its first `|`: a process that names itself `x|evil=1;2;3` must not add perfdata."""

from __future__ import annotations

import re

from conftest import run_portscope
from holders import CLOSE_WAIT, NAMED, holder
from portscope.sanitise import perf_label, plugin_text

HOSTILE = b"x|evil=1;2;3"
PERF_ITEM = re.compile(r"(?:'[^'|=]+'|[^\s'|=]+)=-?[\d.]+[a-zA-Z%]*(?:;-?[\d.]*){0,4}")
"""One `label=value[UOM];warn;crit;min;max` by the plugin guidelines."""
PERFDATA = ["max_pressure", "max_accept_queue", "time_wait", "close_wait"]
MEASURED = ["listen_drops", "conntrack"]
"""Perfdata only where measured: listen drops over an interval, conntrack where loaded."""


def test_a_pipe_in_a_process_name_cannot_forge_perfdata() -> None:
    argv = [b"holder", b"-c", (NAMED + CLOSE_WAIT).encode(), HOSTILE.hex().encode()]
    with holder(argv) as (pid, _port):
        done = run_portscope("check", "--close-wait-critical", "2", "--netns", "host")
    assert done.returncode in (1, 2), done  # at least WARNING: 3 CLOSE_WAIT held, 2 is many
    head, *details = done.stdout.splitlines()
    assert head.count("|") == 1, head
    items = head.split("|")[1].split()
    assert all(PERF_ITEM.fullmatch(item) for item in items), items
    labels = [item.split("=")[0] for item in items]
    assert labels[: len(PERFDATA)] == PERFDATA
    assert all(label in MEASURED for label in labels[len(PERFDATA) :]), labels
    shown = f"CLOSE_WAIT held in x\\x7cevil=1;2;3 (pid {pid}): 3 (socket leak?)"
    assert f"WARNING: {shown}" in details
    assert not any("|" in line for line in details)


def test_plugin_text_is_one_line_without_a_pipe() -> None:
    assert plugin_text("a|b\nc\r|") == "a\\x7cb\\x0ac\\x0d\\x7c"


def test_perf_labels_lose_their_separators_and_are_quoted_with_a_space() -> None:
    assert perf_label("time_wait") == "time_wait"
    assert perf_label("a b'c=d|e") == "'a b\\x27c\\x3dd\\x7ce'"
    assert perf_label("tab\there") == "tab\\x09here"
