"""`portscope lookup` through the real CLI: output, JSON shape, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import cli_env, needs_root, run_portscope
from sockets import SocketFarm

BAD_INPUTS = {
    "empty": "",
    "whitespace": "   ",
    "punctuation": "abc!!",
    "negative": "-1",
    "too big": "65536",
    "huge": "99999999999999999999",
    "backwards range": "9000-8000",
    "hex": "0x50",
    "fullwidth digits": "６０６３０",
    "arabic-indic digits": "٦٠٦٣٠",
    "10,000 characters": "7" * 10_000,
    "control characters": "\x1b[2J\x07ssh",
}
RESULT_FIELDS = {
    "port", "iana_class", "ephemeral", "reserved", "services", "notes", "in_use",
    "check_commands", "bind",
}  # fmt: skip


@pytest.mark.parametrize("text", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_one_line_on_stderr_and_exit_2(text: str) -> None:
    done = run_portscope("lookup", text, "--offline", timeout=20)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("portscope: lookup:")
    assert "a range like 8000-8100" in lines[0]
    assert "\x1b" not in lines[0] and "Traceback" not in done.stderr


def test_a_stray_option_is_a_usage_error_too() -> None:
    done = run_portscope("lookup", "22", "--frobnicate", timeout=20)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1


def test_60630_tells_a_newcomer_everything() -> None:
    done = run_portscope("lookup", "60630", timeout=20)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for expected in ("Port 60630 - unassigned", "dynamic/private range 49152-65535",
                     "Xsan", "IP cameras", "ss -tulpn 'sport = :60630'", "lsof -i :60630",
                     "nmap -p 60630 localhost", "Here now", "Can I bind?"):  # fmt: skip
        assert expected in text, expected
    with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
        low, high = handle.read().split()
    assert f"ephemeral range {low}-{high}" in text


def test_ssh_finds_22_first_as_json() -> None:
    done = run_portscope("lookup", "ssh", "--json", "--offline", timeout=20)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["query"] == "ssh"
    assert document["results"][0]["port"] == 22
    assert document["total"] >= len(document["results"])
    first = document["results"][0]
    assert first.keys() >= RESULT_FIELDS
    assert first["services"][0] == {
        "name": "ssh",
        "protocols": ["tcp", "udp", "sctp"],
        "description": "The Secure Shell (SSH) Protocol",
        "source": "iana",
    }
    assert set(first["bind"]) == {"can_bind", "verdict", "reasons"}


def test_a_real_listener_appears_in_the_json(farm: SocketFarm) -> None:
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    done = run_portscope("lookup", str(port), "--json", timeout=30)
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)["results"]
    mine = [r for r in result["in_use"] if r["kind"] == "listener" and r["port"] == port]
    assert mine and mine[0]["pid"] == os.getpid() and mine[0]["address"] == "127.0.0.1"
    assert result["bind"]["can_bind"] is False
    assert f"pid {os.getpid()}" in result["bind"]["verdict"]


def test_the_card_shows_a_real_listener_and_its_process(farm: SocketFarm) -> None:
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    done = run_portscope("lookup", str(port), timeout=30)
    assert done.returncode == 0, done.stderr
    assert f"tcp LISTEN 127.0.0.1:{port}" in done.stdout
    assert f"pid {os.getpid()}" in done.stdout
    assert f"No: port {port} is taken by tcp 127.0.0.1:{port}" in done.stdout


def test_a_range_is_capped_with_a_showing_line() -> None:
    done = run_portscope("lookup", "8000-8100", "--limit", "3", "--offline", timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\nPort ") + done.stdout.startswith("Port ") == 3
    assert "showing 3 of " in done.stdout


def test_an_unassigned_name_still_exits_0() -> None:
    done = run_portscope("lookup", "zzqqxv", "--offline", timeout=20)
    assert done.returncode == 0
    assert "no service name, description or note matches" in done.stdout


def run_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run(
        [*nobody, sys.executable, "-m", "portscope", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=cli_env(),
        check=False,
    )


@needs_root
def test_an_unprivileged_user_is_told_about_privileged_ports() -> None:
    done = run_as_nobody("lookup", "80")
    assert done.returncode == 0, done.stderr
    assert "Not as this user: it needs root or CAP_NET_BIND_SERVICE" in done.stdout


@needs_root
def test_an_unprivileged_user_sees_that_owners_are_hidden(farm: SocketFarm) -> None:
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    done = run_as_nobody("lookup", str(port))
    assert done.returncode == 0, done.stderr
    assert f"tcp LISTEN 127.0.0.1:{port}  hidden" in done.stdout
    assert "run as root to see them" in done.stdout
