"""What the exporter tests share: a real `portscope serve` process, scrapes, promtool,
and the exposition read back by prometheus_client's own parser."""

from __future__ import annotations

import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import cli_env

PORTSCOPE = (sys.executable, "-m", "portscope")
READY_TIMEOUT = 60.0
SCRAPE_TIMEOUT = 30.0
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="needs promtool (Debian's prometheus package)"
)
Labels = dict[str, str]


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick, released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    """`promtool check metrics` on an exposition: exit 0 and nothing said when it is clean."""
    return subprocess.run(
        ["promtool", "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def samples(text: str, name: str) -> list[tuple[Labels, float]]:
    """Every sample called `name` in an exposition (counters by their `_total` name)."""
    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def only(text: str, name: str, **labels: str) -> float:
    """The value of the one sample of `name` whose labels include `labels`."""
    found = [v for got, v in samples(text, name) if labels.items() <= got.items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: str


def scrape(
    url: str, headers: Mapping[str, str] | None = None, tls: ssl.SSLContext | None = None
) -> Response:
    """One GET; an HTTP error status is a Response too, not an exception."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=SCRAPE_TIMEOUT, context=tls) as answer:
            return Response(answer.status, answer.headers, answer.read().decode())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read().decode())


def until_answered(url: str) -> str:
    """The first answer of a server that is starting up."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            return scrape(url).body
        except OSError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.1)


@dataclass
class Served:
    process: subprocess.Popen[str]
    port: int
    url: str
    stderr_seen: str

    def metrics(self, **kwargs: object) -> Response:
        return scrape(self.url, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def first_line(stream: object, timeout: float) -> str:
    watch = selectors.DefaultSelector()
    watch.register(stream, selectors.EVENT_READ)  # type: ignore[arg-type]
    if not watch.select(timeout):
        return ""
    return stream.readline()  # type: ignore[attr-defined,no-any-return]


@contextmanager
def serving(*args: str, scheme: str = "http") -> Iterator[Served]:
    """`portscope serve --listen 127.0.0.1:PORT ARGS` until the block ends; it must come
    up (its one line on stderr says where it serves)."""
    port = free_port()
    argv = [*PORTSCOPE, "serve", "--listen", f"127.0.0.1:{port}", *args]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        line = first_line(process.stderr, READY_TIMEOUT)
        assert line.startswith("portscope: serving"), (line, process.poll())
        yield Served(process, port, f"{scheme}://127.0.0.1:{port}/metrics", line)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)
        assert process.stderr is not None
        process.stderr.close()
