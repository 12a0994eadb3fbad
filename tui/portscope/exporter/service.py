"""`portscope serve` while it runs: the shared Poller on the event loop of the main
thread, the HTTP server on a thread of its own, until SIGTERM (how systemd stops a
service) or ctrl+c."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable

from portscope.exporter.server import MetricsServer
from portscope.poller import Poller


async def serve_until_stopped(
    poller: Poller, server: MetricsServer, ready: Callable[[], None]
) -> None:
    """Serve scrapes while `poller` polls; on SIGTERM finish the poll under way and stop.
    `ready` is called once a SIGTERM would be a clean stop."""
    http = threading.Thread(target=server.serve_forever, name="portscope-http", daemon=True)
    http.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, poller.stop)
    ready()
    try:
        await poller.run()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        server.shutdown()
        server.server_close()
