"""`portscope metrics`: one poll in the text exposition format, checked by promtool and
read back by prometheus_client's parser; hostile process names stay label values."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from conftest import cli_env, run_portscope
from exporter_support import (
    free_port,
    needs_promtool,
    only,
    promtool_check,
    samples,
    serving,
    until_answered,
)
from portscope.analysis import HealthTracker
from portscope.collect import Collector
from portscope.exporter.capped import SeriesCap
from portscope.exporter.facts import LISTENER_INFO, poll_families
from sockets import SocketFarm

HOLDER = """
import os, socket, time
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
os.write(1, b"%d\\n" % sock.getsockname()[1])
time.sleep(120)
"""
HOSTILE = {
    b'x"}\nevil 1': 'x"}\\x0aevil 1',
    b'q"\\\\"}': 'q"\\\\"}',
    b"\x1b[31mred": "\\x1b[31mred",
    b"bad\xffutf8": "bad\\xffutf8",
    b"\xe2\x80\xaeexe.txt": "\\u202eexe.txt",
}
"""A process's name (its executable's, through a symlink so named) -> the label value."""
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def metrics(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "portscope", "metrics", *args],
        capture_output=True,
        timeout=120,
        env=cli_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")  # strict: never invalid UTF-8


@needs_promtool
def test_promtool_finds_nothing_to_say(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    farm.connect(listener, count=3)
    text = metrics()
    checked = promtool_check(text)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
    # node_exporter's textfile collector refuses a file that repeats its own process_*
    assert "\nprocess_" not in text


def test_our_listener_with_its_process_and_our_destination(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    farm.connect(listener, count=7)
    port = listener.getsockname()[1]
    text = metrics("--top-destinations", "100000", "--max-series", "100000")  # all of them
    (labels, value), *others = [
        (labels, value)
        for labels, value in samples(text, LISTENER_INFO)
        if labels["port"] == str(port) and labels["proto"] == "tcp"
    ]
    assert others == [] and value == 1
    assert labels["process"] == psutil.Process().name()
    assert labels | {"process": ""} == {
        "netns": "host", "container": "", "unit": "", "process": "", "proto": "tcp",
        "family": "ipv4", "address": "127.0.0.1", "port": str(port), "exposure": "loopback",
    }  # fmt: skip
    where = {"local_address": "127.0.0.1", "remote_address": "127.0.0.1"}
    destination = {**where, "proto": "tcp", "remote_port": str(port)}
    in_use = only(text, "portscope_destination_ephemeral_ports_in_use", **destination)
    budget = only(text, "portscope_destination_ephemeral_ports_budget", **destination)
    assert in_use == 7
    assert only(text, "portscope_destination_pressure_ratio", **destination) == in_use / budget
    assert only(text, "portscope_destination_time_wait_sockets", **destination) == 0
    assert only(text, "portscope_poll_success") == 1


@pytest.fixture(scope="module")
def hostile_holders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, str]]:
    """One real process per hostile name, each holding a loopback listener: port -> the
    label value its name must become."""
    where = tmp_path_factory.mktemp("names")
    python = os.path.realpath(sys.executable)
    procs: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for index, (name, label) in enumerate(HOSTILE.items()):
            link = os.path.join(os.fsencode(where / str(index)), name)
            os.makedirs(os.path.dirname(link))
            os.symlink(python, link)
            env = {"PYTHONHOME": sys.base_prefix}
            proc = subprocess.Popen([link, "-c", HOLDER], stdout=subprocess.PIPE, env=env)
            procs.append((proc, label))
        ports = {}
        for proc, label in procs:
            assert proc.stdout is not None
            ports[int(proc.stdout.readline())] = label
        yield ports
    finally:
        for proc, _label in procs:
            proc.kill()
            proc.wait(timeout=10)
            if proc.stdout:
                proc.stdout.close()


def test_a_filter_exports_only_the_sockets_it_selects(farm: SocketFarm) -> None:
    kept, other = farm.tcp_listener(), farm.tcp_listener()
    farm.connect(kept, count=3)
    farm.connect(other, count=2)
    port = kept.getsockname()[1]
    text = metrics("--filter", f"sport = :{port} or dport = :{port}")
    assert [labels["port"] for labels, _ in samples(text, LISTENER_INFO)] == [str(port)]
    states = {labels["state"]: value for labels, value in samples(text, "portscope_connections")}
    assert states == {"ESTABLISHED": 6}  # both ends of the 3 connections to `kept`


@needs_promtool
@pytest.mark.parametrize("via", ["metrics", "a scrape"])
def test_hostile_process_names_are_inert_label_values(
    hostile_holders: dict[int, str], via: str
) -> None:
    if via == "metrics":
        text = metrics()
    else:
        with serving() as served:
            text = served.metrics().body
    assert RAW_CONTROL.findall(text) == []
    checked = promtool_check(text)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
    names = set(re.findall(r"^(\w+)[{ ]", text, re.MULTILINE))
    assert all(name.startswith(("portscope_", "process_")) for name in names), names
    listed = {labels["port"]: labels["process"] for labels, _ in samples(text, LISTENER_INFO)}
    assert {port: listed.get(str(port)) for port in hostile_holders} == hostile_holders


def test_output_file_is_written_atomically_over_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    target = tmp_path / "portscope.prom"
    target.symlink_to(victim)
    done = run_portscope("metrics", "-o", str(target))
    assert (done.returncode, done.stdout) == (0, "")
    assert victim.read_text() == "precious"
    assert not target.is_symlink() and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert only(target.read_text(), "portscope_poll_success") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portscope.prom", "victim"]


@pytest.mark.parametrize(
    "args",
    [
        ["--max-series", "0"],
        ["--top-destinations", "-1"],
        ["--top-destinations", "many"],
        ["--source", "carrier-pigeon"],
        ["-o"],
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str]) -> None:
    done = run_portscope("metrics", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_the_cap_keeps_max_series_per_family_and_counts_the_rest(farm: SocketFarm) -> None:
    for _ in range(3):
        farm.tcp_listener()
    snapshot = Collector().collect()
    listeners = {
        (s.proto, s.family, s.local_address, s.local_port, s.owner and s.owner.name)
        for s in snapshot.listeners
    }
    cap = SeriesCap(2)
    report = HealthTracker(pressure_limit=5).update(snapshot)
    families = {f.name: f for f in poll_families(snapshot, report, cap)}
    assert len(families[LISTENER_INFO].samples) == 2
    assert cap.dropped[LISTENER_INFO] == len(listeners) - 2
    assert all(len(f.samples) <= 2 for f in families.values())


def test_a_poll_that_fails_exits_1_with_one_line(tmp_path: Path) -> None:
    done = run_portscope("metrics", "--source", "procfs", "--proc-root", str(tmp_path))
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "no socket tables" in done.stderr


@pytest.mark.skipif(
    shutil.which("prometheus-node-exporter") is None, reason="needs prometheus-node-exporter"
)
def test_node_exporters_textfile_collector_takes_the_file(tmp_path: Path) -> None:
    done = run_portscope("metrics", "-o", str(tmp_path / "portscope.prom"))
    assert done.returncode == 0, done.stderr
    port = free_port()
    node = subprocess.Popen(
        ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}",
         "--collector.disable-defaults", "--collector.textfile",
         f"--collector.textfile.directory={tmp_path}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        text = until_answered(f"http://127.0.0.1:{port}/metrics")
    finally:
        node.terminate()
        node.wait(timeout=30)
    assert only(text, "node_textfile_scrape_error") == 0
    assert only(text, "portscope_poll_success") == 1
    assert samples(text, LISTENER_INFO), "the listeners came through"
