"""`portscope serve`: the shared Poller behind a Prometheus `/metrics` endpoint.

Loopback only unless `--allow-remote`; TLS with `--tls-cert`/`--tls-key`; basic
authentication with `--basic-auth-file`. `--print-systemd-unit` checks the options
and prints a unit that runs this same command. The exporter, and with it
prometheus_client, is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portscope.cli.errors import UsageError
from portscope.cli.metrics import add_metric_options, export_settings
from portscope.cli.options import add_source_options, chosen_source, interval_seconds

if TYPE_CHECKING:
    import ssl

    from portscope.exporter.credentials import Credentials
    from portscope.exporter.listen import ListenAddress

DEFAULT_PORT = 20216
"""Outside 9100-9999, which Prometheus' list of default exporter ports has filled,
and the 10000s that list continues into; below Linux's ephemeral range and
Kubernetes' NodePorts (30000-32767); unassigned by IANA."""
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
DEFAULT_INTERVAL = 15.0
"""Seconds between polls: Prometheus' usual scrape interval."""


def listen_address(text: str) -> ListenAddress:
    from portscope.exporter.listen import parse_listen

    try:
        return parse_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(commands: Any) -> None:
    summary = "serve Prometheus metrics over HTTP, polling on its own schedule"
    parser = commands.add_parser("serve", help=summary, description=summary)
    parser.add_argument(
        "--listen",
        metavar="ADDRESS:PORT",
        type=listen_address,
        default=DEFAULT_LISTEN,
        help="where to listen; IPv6 in brackets (default %(default)s)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --listen beyond loopback (0.0.0.0, a LAN address): who can reach the "
        "port can read every listener, process name and peer of this host",
    )
    parser.add_argument(
        "--interval",
        metavar="SECONDS",
        type=interval_seconds,
        default=DEFAULT_INTERVAL,
        help="seconds between polls; set it to the scrape interval (default %(default)g)",
    )
    parser.add_argument(
        "--tls-cert", metavar="FILE", type=Path, help="serve HTTPS with this certificate (PEM)"
    )
    parser.add_argument(
        "--tls-key", metavar="FILE", type=Path, help="the private key of --tls-cert (PEM)"
    )
    parser.add_argument(
        "--basic-auth-file",
        metavar="FILE",
        type=Path,
        help="require basic authentication by the one USER:PASSWORD line of FILE (mode 600)",
    )
    parser.add_argument(
        "--print-systemd-unit",
        action="store_true",
        help="check the options, print a systemd unit running this command, and exit",
    )
    add_metric_options(parser)
    add_source_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.listen.loopback and not args.allow_remote:
        raise UsageError(
            f"refusing to listen on {args.listen}, beyond loopback: pass --allow-remote "
            "(and think of --tls-cert and --basic-auth-file)"
        )
    if (args.tls_cert is None) != (args.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    tls = loaded_tls(args)
    credentials = loaded_credentials(args)
    if args.print_systemd_unit:
        from portscope.exporter.systemd import unit_file

        log = getattr(args, "log", None)
        sys.stdout.write(unit_file(serve_argv(args), [str(absolute(log).parent)] if log else []))
        return 0
    return serve(args, tls, credentials)


def loaded_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.tls_cert is None:
        return None
    from portscope.exporter.server import tls_context

    try:
        return tls_context(args.tls_cert, args.tls_key)
    except OSError as exc:  # ssl.SSLError included
        reason = exc.strerror or getattr(exc, "reason", None) or str(exc)
        raise UsageError(f"cannot use --tls-cert/--tls-key: {reason}") from None


def loaded_credentials(args: argparse.Namespace) -> Credentials | None:
    if args.basic_auth_file is None:
        return None
    from portscope.exporter.credentials import CredentialsRefused, read_credentials
    from portscope.sanitise import printable

    try:
        return read_credentials(args.basic_auth_file)
    except CredentialsRefused as exc:
        where = printable(str(args.basic_auth_file))
        raise UsageError(f"cannot use --basic-auth-file {where}: {printable(str(exc))}") from None


def absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def serve_argv(args: argparse.Namespace) -> list[str]:
    """This command, with every option spelt out and every path absolute."""
    argv = [sys.executable, "-m", "portscope", "serve", "--listen", str(args.listen)]
    argv += ["--interval", f"{args.interval:g}"]
    argv += ["--top-destinations", str(args.top_destinations), "--max-series", str(args.max_series)]
    if args.allow_remote:
        argv.append("--allow-remote")
    if args.source != "auto":
        argv += ["--source", args.source]
    paths = {
        "--proc-root": args.proc_root and Path(args.proc_root),
        "--tls-cert": args.tls_cert,
        "--tls-key": args.tls_key,
        "--basic-auth-file": args.basic_auth_file,
        "--log": getattr(args, "log", None),
    }
    for option, path in paths.items():
        if path:
            argv += [option, str(absolute(path))]
    return argv


def serve(
    args: argparse.Namespace, tls: ssl.SSLContext | None, credentials: Credentials | None
) -> int:
    import asyncio

    from portscope.collect import Collector, default_scope
    from portscope.exporter.server import MetricsServer, exporter_app
    from portscope.exporter.service import serve_until_stopped
    from portscope.poller import Poller

    latest, app = exporter_app(export_settings(args), credentials)
    try:
        server = MetricsServer(args.listen, app, tls)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.listen}: {exc.strerror or exc}") from None
    source, proc_root = chosen_source(args)
    scope = default_scope(proc_root)
    poller = Poller(Collector(source, proc_root, namespaces=scope).collect, args.interval)
    poller.subscribe(latest.on_poll)
    url = f"{'https' if tls else 'http'}://{args.listen}/metrics"
    asyncio.run(serve_until_stopped(poller, server, lambda: announce(f"serving {url}")))
    return 0


def announce(text: str) -> None:
    print(f"portscope: {text}", file=sys.stderr, flush=True)
