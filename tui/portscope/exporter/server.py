"""`/metrics` over HTTP or HTTPS: prometheus_client's WSGI app (content negotiation,
gzip, OpenMetrics), behind basic authentication when asked, served by a thread per
connection.

prometheus_client's own `start_http_server` offers TLS but no authentication, and it
does the TLS handshake on the thread that accepts connections, so one client that
connects and says nothing holds up every scrape. This server is assembled from the
library's parts instead: the handshake runs on the connection's own thread, under a
timeout.
"""

from __future__ import annotations

import socketserver
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler

from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from portscope.exporter.credentials import Credentials
from portscope.exporter.latest import LatestMetrics
from portscope.exporter.listen import ListenAddress
from portscope.exporter.settings import ExportSettings
from portscope.failures import LOG

FIRST_POLL_WAIT = 10.0
"""How long a scrape waits for the first poll after start: Prometheus' default scrape
timeout. After that it gets the exporter's health, and `portscope_poll_success 0`."""
CONNECTION_TIMEOUT = 30.0
"""Seconds a connection may sit idle (in the TLS handshake or a request) before it is dropped."""
UNAUTHORIZED = [
    ("WWW-Authenticate", 'Basic realm="portscope", charset="UTF-8"'),
    ("Content-Type", "text/plain; charset=utf-8"),
]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def metrics_app(
    latest: LatestMetrics, registry: CollectorRegistry, credentials: Credentials | None
) -> WSGIApp:
    """The registry's exposition, once the first poll is in, to whoever authenticates."""
    exposition = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if credentials is not None and not credentials.admit(environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", UNAUTHORIZED)
            return [b"401 Unauthorized: basic authentication required\n"]
        latest.wait_for_first_poll(FIRST_POLL_WAIT)
        return exposition(environ, start_response)

    return app


def exporter_app(
    settings: ExportSettings, credentials: Credentials | None
) -> tuple[LatestMetrics, WSGIApp]:
    """`portscope serve`'s exporter, and its app: the latest poll's metrics and the
    exporter's own process metrics, in a registry of their own."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    latest = LatestMetrics(registry, settings)
    return latest, metrics_app(latest, registry, credentials)


def tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    """A server context for TLS 1.2 and later; OSError or SSLError when the files are bad."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    return context


class QuietHandler(WSGIRequestHandler):
    """A scrape every 15 s is not news: no access log on stderr."""

    timeout = CONNECTION_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        return


class MetricsServer(ThreadingWSGIServer):
    """The library's threading WSGI server, with TLS per connection and no name lookup
    when it binds (HTTPServer asks DNS for the fully qualified name of its address)."""

    def __init__(
        self, address: ListenAddress, app: WSGIApp, tls: ssl.SSLContext | None = None
    ) -> None:
        family, bound = address.resolved()
        self.address_family = family
        self.tls = tls
        super().__init__(bound, QuietHandler)
        self.set_app(app)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """On the connection's own thread: the TLS handshake, then the request."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(CONNECTION_TIMEOUT)
        try:
            secured = self.tls.wrap_socket(request, server_side=True)
        except OSError as exc:  # ssl.SSLError included
            LOG.info("TLS handshake with %s failed: %s", client_address, exc)
            return
        with secured:
            super().finish_request(secured, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-request is logged, not printed on stderr."""
        LOG.warning("serving %s failed", client_address, exc_info=True)
