"""One poll's facts as Prometheus metric families: listeners, connection states,
ephemeral ports, the most pressed destinations and CLOSE_WAIT per process.

The figures are the analysis' own (`portscope.analysis`: pressure, accept queues,
CLOSE_WAIT) and the dashboard's (`PortUse` for the ports lent out), so a scrape says
what `portscope check`, `snapshot --json` and the screen say. Names follow Prometheus'
conventions: a `portscope_` prefix, base units, ratios from 0 to 1, `_info` for a
series whose labels are the fact. Every family that grows with the host is capped
(`SeriesCap`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from portscope.analysis import HealthReport, listener_queue
from portscope.exporter.capped import SeriesCap
from portscope.exporter.labels import HOST_NETNS, OWNER_LABELS, netns_label, owner_labels
from portscope.exposure import exposure_of
from portscope.model import Snapshot, Socket
from portscope.view.port_use import PortUse

LISTENER_INFO = "portscope_listener_info"
ACCEPT_QUEUE = "portscope_listener_accept_queue_fill_ratio"
CONNECTIONS = "portscope_connections"
DESTINATION_IN_USE = "portscope_destination_ephemeral_ports_in_use"
DESTINATION_BUDGET = "portscope_destination_ephemeral_ports_budget"
DESTINATION_TIME_WAIT = "portscope_destination_time_wait_sockets"
DESTINATION_PRESSURE = "portscope_destination_pressure_ratio"
CLOSE_WAIT = "portscope_close_wait_sockets"
CAPPED = (
    LISTENER_INFO, ACCEPT_QUEUE, CONNECTIONS, DESTINATION_IN_USE, DESTINATION_BUDGET,
    DESTINATION_TIME_WAIT, DESTINATION_PRESSURE, CLOSE_WAIT,
)  # fmt: skip
"""The families a cap may shorten: `portscope_series_dropped_total` has a series each."""

LISTENER_LABELS = ("netns", *OWNER_LABELS, "proto", "family", "address", "port", "exposure")
DESTINATION_LABELS = ("netns", "proto", "family", "local_address", "remote_address", "remote_port")
EXPOSURE_FIRST = {"all": 0, "interface": 1, "loopback": 2}
"""Which listeners a cap keeps first: the most exposed."""

Labels = tuple[str, ...]


def poll_families(snapshot: Snapshot, report: HealthReport, cap: SeriesCap) -> list[Metric]:
    """Every fact of one poll; `report` is the analysis of the same snapshot."""
    return [
        *listener_families(snapshot, cap),
        connection_states(snapshot, cap),
        *ephemeral_families(snapshot, report),
        *destination_families(snapshot, report, cap),
        close_wait_family(snapshot, report, cap),
        gauge(
            "portscope_sockets_hidden_owner",
            "Sockets whose process this exporter cannot see (run it as root to see them)",
            [((HOST_NETNS,), snapshot.unattributed)],
            ("netns",),
        ),
    ]


def gauge(
    name: str, documentation: str, samples: Iterable[tuple[Labels, float]], labels: Labels
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def listener_labels(sock: Socket, snapshot: Snapshot) -> Labels:
    return (
        netns_label(snapshot, sock.netns),
        *owner_labels(sock.owner),
        sock.proto,
        sock.family,
        sock.local_address,
        str(sock.local_port),
        exposure_of(sock.local_address),
    )


def listener_order(labels: Labels) -> tuple[int, str, int, str, str]:
    """Most exposed first, then by protocol, port, address and process."""
    named = dict(zip(LISTENER_LABELS, labels, strict=True))
    exposure, port = EXPOSURE_FIRST[named["exposure"]], int(named["port"])
    return exposure, named["proto"], port, named["address"], named["process"]


def listener_families(snapshot: Snapshot, cap: SeriesCap) -> Iterator[Metric]:
    """An info series per listener, and its accept queue's fill where the source sees
    the backlog. Listeners sharing a port (SO_REUSEPORT) in one process are one series;
    its fill is their fullest queue's."""
    fill: dict[Labels, float] = {}
    for sock in snapshot.listeners:
        labels = listener_labels(sock, snapshot)
        queue = listener_queue(sock)
        ratio = -1.0 if queue is None or queue.percent is None else queue.percent / 100
        fill[labels] = max(ratio, fill.get(labels, -1.0))
    listed = sorted(fill, key=listener_order)
    yield gauge(
        LISTENER_INFO,
        "A socket listening here (TCP LISTEN, or UDP bound with no peer); always 1",
        ((labels, 1) for labels in cap.keep(listed, LISTENER_INFO)),
        LISTENER_LABELS,
    )
    fullest = sorted(
        (labels for labels in listed if fill[labels] >= 0), key=lambda labels: -fill[labels]
    )
    yield gauge(
        ACCEPT_QUEUE,
        "Connections waiting for accept() as a share of what the kernel queues "
        "(backlog + 1); at 1 new connections are dropped",
        ((labels, fill[labels]) for labels in cap.keep(fullest, ACCEPT_QUEUE)),
        LISTENER_LABELS,
    )


def connection_states(snapshot: Snapshot, cap: SeriesCap) -> GaugeMetricFamily:
    """Connections (every socket but the listeners) by state; UDP ones are ESTAB."""
    connections = snapshot.connections
    names = {netns: netns_label(snapshot, netns) for netns in {s.netns for s in connections}}
    counts = Counter((names[s.netns], s.proto, s.family, s.state_label) for s in connections)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return gauge(
        CONNECTIONS,
        "Connections by state, as ss names them",
        cap.keep(ordered, CONNECTIONS),
        ("netns", "proto", "family", "state"),
    )


def ephemeral_families(snapshot: Snapshot, report: HealthReport) -> list[GaugeMetricFamily]:
    """The range and the ports lent, per namespace with sockets (its own range; the
    host's always); the destinations counted, for the whole machine."""
    lent = PortUse(snapshot, by_key=False).lent_by_netns()
    spaces = snapshot.namespaces
    shown = [ns.inode for i, ns in enumerate(spaces) if ns.sockets or not i] or [0]
    labelled = [((netns_label(snapshot, netns),), netns) for netns in shown]
    return [
        gauge(
            "portscope_ephemeral_range_ports",
            "Ports the kernel may lend to outgoing connections "
            "(ip_local_port_range less ip_local_reserved_ports)",
            ((labels, snapshot.range_in(netns).usable) for labels, netns in labelled),
            ("netns",),
        ),
        gauge(
            "portscope_ephemeral_ports_in_use",
            "Distinct ports of the ephemeral range lent to connections now",
            ((labels, lent.get(netns, 0)) for labels, netns in labelled),
            ("netns",),
        ),
        gauge(
            "portscope_destinations",
            "Destinations (proto, local address, remote address and port) holding "
            "ephemeral ports, in every namespace; the most pressed are in "
            "portscope_destination_*",
            [((HOST_NETNS,), report.destinations)],
            ("netns",),
        ),
    ]


def destination_families(
    snapshot: Snapshot, report: HealthReport, cap: SeriesCap
) -> list[GaugeMetricFamily]:
    """The most pressed destinations (the analysis keeps the top N), four figures each."""
    names = (DESTINATION_IN_USE, DESTINATION_BUDGET, DESTINATION_TIME_WAIT, DESTINATION_PRESSURE)
    kept = cap.keep(report.pressure, *names)
    labelled = [
        (
            (
                netns_label(snapshot, d.netns),
                d.proto,
                d.family,
                d.local_address,
                d.remote_address,
                str(d.remote_port),
            ),
            pressure,
        )
        for pressure in kept
        for d in (pressure.destination,)
    ]
    figures = (
        (DESTINATION_IN_USE, "Ephemeral ports held towards the destination, TIME_WAIT included",
         lambda p: p.in_use),
        (DESTINATION_BUDGET, "Ephemeral ports connect() could hold towards the destination",
         lambda p: p.budget),
        (DESTINATION_TIME_WAIT, "Of those in use, the ones in TIME_WAIT",
         lambda p: p.time_wait),
        (DESTINATION_PRESSURE, "In use as a share of the budget; at 1 connect() fails "
         "with EADDRNOTAVAIL", lambda p: p.percent / 100),
    )  # fmt: skip
    return [
        gauge(name, text, ((labels, value(p)) for labels, p in labelled), DESTINATION_LABELS)
        for name, text, value in figures
    ]


def close_wait_family(
    snapshot: Snapshot, report: HealthReport, cap: SeriesCap
) -> GaugeMetricFamily:
    """CLOSE_WAIT sockets per process name (and container, unit), not per pid: pids
    churn, and a restarted leaker should stay one series."""
    counts: Counter[Labels] = Counter()
    for trend in report.close_wait:
        counts[(netns_label(snapshot, trend.netns), *owner_labels(trend.owner))] += trend.count
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return gauge(
        CLOSE_WAIT,
        "Sockets in CLOSE_WAIT (the peer closed, the process never did) per process",
        cap.keep(ordered, CLOSE_WAIT),
        ("netns", *OWNER_LABELS),
    )
