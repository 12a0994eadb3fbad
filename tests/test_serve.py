"""`portscope serve` as a user runs it: a real process on loopback, scraped over HTTP(S),
with bad input refused in one line and a failing poll answered by its error metric."""

from __future__ import annotations

import base64
import configparser
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import cli_env, needs_root, run_portscope, run_with_tree
from exporter_support import (
    PORTSCOPE,
    free_port,
    needs_promtool,
    only,
    promtool_check,
    samples,
    scrape,
    serving,
)
from portscope.exporter.facts import LISTENER_INFO
from sockets import SocketFarm

CONDITION_TIMEOUT = 60.0
"""How long a scrape loop may wait for a state the exporter must reach: a failure
bound, never a measurement."""


def one_line_usage_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2 and done.stdout == "", done
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def until_scraped(url: str, wanted: str, **kwargs: object) -> str:
    """Scrape until the exposition has the sample line `wanted`; every answer is a 200."""
    deadline = time.monotonic() + CONDITION_TIMEOUT
    while True:
        answer = scrape(url, **kwargs)  # type: ignore[arg-type]
        assert answer.status == 200, answer
        if wanted in answer.body.splitlines():
            return answer.body
        assert time.monotonic() < deadline, f"never saw {wanted!r}:\n{answer.body}"
        time.sleep(0.1)


@needs_promtool
def test_a_scrape_passes_promtool_and_names_our_listener(farm: SocketFarm) -> None:
    listener = farm.tcp_listener()
    port = str(listener.getsockname()[1])
    with serving("--interval", "1") as served:
        answer = served.metrics()
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        checked = promtool_check(answer.body)
        assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")
        assert only(answer.body, LISTENER_INFO, port=port, address="127.0.0.1") == 1
        assert only(answer.body, "portscope_poll_success") == 1
        assert only(answer.body, "process_open_fds") > 0, "the exporter's own process"
        assert served.stop() == 0, "SIGTERM is a clean stop"


@pytest.mark.parametrize(
    "listen",
    ["localhost:9", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "::1:80", "[127.0.0.1]:80",
     "[::1]", "127.1:80", "１２７.0.0.1:80", "127.0.0.1:8O", "", "[::1]:80\n"],
)  # fmt: skip
def test_a_malformed_listen_address_is_one_line(listen: str) -> None:
    error = one_line_usage_error(run_portscope("serve", "--listen", listen))
    assert "is not ADDRESS:PORT" in error


@pytest.mark.parametrize("listen", ["0.0.0.0:{}", "[::]:{}", "192.0.2.1:{}", "[2001:db8::1]:{}"])
def test_beyond_loopback_is_refused_without_allow_remote(listen: str) -> None:
    address = listen.format(free_port())
    error = one_line_usage_error(run_portscope("serve", "--listen", address))
    assert error.startswith(f"portscope: refusing to listen on {address}, beyond loopback")
    unit = run_portscope(
        "serve", "--listen", address, "--allow-remote", "--print-systemd-unit", timeout=60
    )
    assert unit.returncode == 0, unit.stderr
    assert "--allow-remote" in unit.stdout


def test_a_port_in_use_is_one_line(farm: SocketFarm) -> None:
    taken = farm.tcp_listener().getsockname()[1]
    error = one_line_usage_error(run_portscope("serve", "--listen", f"127.0.0.1:{taken}"))
    assert error == f"portscope: cannot listen on 127.0.0.1:{taken}: Address already in use\n"


def test_a_failing_poll_is_an_error_metric_not_a_500(tmp_path: Path) -> None:
    """A procfs whose socket tables vanish: the poll raises, the scrape still answers."""
    net = tmp_path / "net"
    net.mkdir()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        shutil.copyfile(f"/proc/net/{table}", net / table)
    args = ("--interval", "0.25", "--source", "procfs", "--proc-root", str(tmp_path))
    with serving(*args) as served:
        until_scraped(served.url, "portscope_poll_success 1.0")
        net.rename(tmp_path / "gone")
        failing = until_scraped(served.url, "portscope_poll_success 0.0")
        assert only(failing, "portscope_poll_errors_total", reason="collect") >= 1
        assert samples(failing, LISTENER_INFO) == [], "no stale facts"
        (tmp_path / "gone").rename(net)
        until_scraped(served.url, "portscope_poll_success 1.0")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_tls(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    trusted = ssl.create_default_context(cafile=str(cert))
    with serving("--tls-cert", str(cert), "--tls-key", str(key), scheme="https") as served:
        assert served.stderr_seen.startswith("portscope: serving https://")
        with socket.create_connection(("127.0.0.1", served.port)):  # and says nothing
            answer = served.metrics(tls=trusted)
            assert answer.status == 200 and only(answer.body, "portscope_poll_success") == 1
        with pytest.raises(OSError):
            scrape(served.url.replace("https://", "http://"))
    error = one_line_usage_error(run_portscope("serve", "--tls-cert", str(cert)))
    assert "--tls-cert and --tls-key go together" in error
    error = one_line_usage_error(
        run_portscope("serve", "--tls-cert", str(key), "--tls-key", str(key))
    )
    assert error.startswith("portscope: cannot use --tls-cert/--tls-key: ")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth(tmp_path: Path) -> None:
    secret = tmp_path / "auth"
    secret.write_text("prometheus:s3cr:et\n")
    secret.chmod(0o600)
    with serving("--basic-auth-file", str(secret)) as served:
        for headers in ({}, basic("prometheus", "wrong"), basic("other", "s3cr:et")):
            refused = served.metrics(headers=headers)
            assert refused.status == 401 and "portscope_" not in refused.body
            assert refused.headers["WWW-Authenticate"].startswith('Basic realm="portscope"')
        admitted = served.metrics(headers=basic("prometheus", "s3cr:et"))
        assert admitted.status == 200 and only(admitted.body, "portscope_poll_success") == 1
    secret.chmod(0o644)
    error = one_line_usage_error(run_portscope("serve", "--basic-auth-file", str(secret)))
    assert "other users may read or change it" in error
    secret.chmod(0o600)
    secret.write_text("no colon here\n")
    assert "USER:PASSWORD" in one_line_usage_error(
        run_portscope("serve", "--basic-auth-file", str(secret))
    )


def exec_start(unit: str) -> list[str]:
    """ExecStart's words as systemd reads them (double quotes, %% and $$)."""
    parsed = configparser.ConfigParser(interpolation=None, strict=False)
    parsed.read_string(unit)
    words = shlex.split(parsed["Service"]["ExecStart"])
    return [word.replace("%%", "%").replace("$$", "$") for word in words]


def test_the_systemd_unit_runs_this_command(tmp_path: Path) -> None:
    port = free_port()
    odd = tmp_path / '100% $HOME "auth"'
    odd.write_text("prometheus:pw\n")
    odd.chmod(0o600)
    args = ("--listen", f"127.0.0.1:{port}", "--interval", "1", "--basic-auth-file", str(odd))
    done = run_portscope("serve", *args, "--print-systemd-unit")
    assert done.returncode == 0, done.stderr
    if shutil.which("systemd-analyze"):
        unit = tmp_path / "portscope.service"
        unit.write_text(done.stdout)
        verified = run_with_tree(["systemd-analyze", "verify", str(tmp_path / "portscope.service")])
        assert verified.returncode == 0, verified.stderr
    argv = exec_start(done.stdout)
    assert argv[argv.index("--basic-auth-file") + 1] == str(odd)
    started = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        assert started.stderr is not None
        assert started.stderr.readline().startswith("portscope: serving")
        url = f"http://127.0.0.1:{port}/metrics"
        assert (
            only(scrape(url, headers=basic("prometheus", "pw")).body, "portscope_poll_success") == 1
        )
    finally:
        started.terminate()
        assert started.wait(timeout=60) == 0
        assert started.stderr is not None
        started.stderr.close()


HOLD_A_LISTENER = (
    "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
    "print(s.getsockname()[1], flush=True); sys.stdin.read()"
)


@needs_root
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_the_units_capabilities_are_enough_to_name_another_users_process() -> None:
    """The unit keeps root only CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: with those, and
    only those, the process behind a `nobody` listener is still named; with none it is not."""
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    holder = subprocess.Popen(
        [*nobody, sys.executable, "-c", HOLD_A_LISTENER],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        port = holder.stdout.readline().strip()
        seen = {}
        for caps in ("-all,+sys_ptrace,+dac_read_search", "-all"):
            argv = ["setpriv", f"--bounding-set={caps}", "--inh-caps=-all"]
            done = run_with_tree([*argv, *PORTSCOPE, "metrics"])
            assert done.returncode == 0, done.stderr
            seen[caps] = [
                labels["process"]
                for labels, _ in samples(done.stdout, LISTENER_INFO)
                if labels["port"] == port
            ]
        name = psutil.Process(holder.pid).name()
        assert seen == {"-all,+sys_ptrace,+dac_read_search": [name], "-all": [""]}
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()
