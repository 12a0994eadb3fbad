"""The budget rules of `destination_pressure`, on socket tables built to exercise them.

Real exhaustion is in test_health_netns; these cover what a ten-port namespace
cannot show cheaply: UDP's host-wide ports, v4-mapped peers, and invariants over
arbitrary tables.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portscope.analysis import HealthTracker, Thresholds, destination_pressure
from portscope.analysis.pressure import pinned_ports, tw_reusable
from portscope.model import EphemeralRange, Snapshot, Socket, SocketTotals

RANGE = EphemeralRange(low=40000, high=40019, reserved=frozenset({40019}))
STATES = ("ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT", "FIN_WAIT2", "SYN_SENT")


def table(sockets: list[Socket], tw_reuse: int | None = 0) -> Snapshot:
    return Snapshot(
        taken_at=0.0,
        host="test",
        privileged=True,
        ephemeral_range=RANGE,
        listeners=tuple(s for s in sockets if s.is_listener),
        connections=tuple(s for s in sockets if not s.is_listener),
        totals=SocketTotals(tcp_tw_reuse=tw_reuse),
    )


def udp(port: int, remote: tuple[str, int] | None = None) -> Socket:
    return Socket(
        "udp",
        "ipv4",
        "127.0.0.1",
        port,
        remote[0] if remote else None,
        remote[1] if remote else None,
    )


def test_udp_ports_held_by_any_other_udp_socket_are_out_of_every_budget() -> None:
    dns = ("127.0.0.53", 53)
    snapshot = table(
        [
            udp(40000, dns),
            udp(40001, dns),
            udp(40002),
            udp(40003),
            udp(40004, ("127.0.0.9", 123)),
            udp(30000),
            Socket("tcp", "ipv4", "127.0.0.1", 40005, state="LISTEN"),
        ]
    )
    assert pinned_ports(snapshot) == {
        "tcp": frozenset({40005}),
        "udp": frozenset({40000, 40001, 40002, 40003, 40004}),
    }
    by_peer = {p.destination.remote_port: p for p in destination_pressure(snapshot)}
    assert (by_peer[53].in_use, by_peer[53].budget) == (2, RANGE.usable - 3)
    assert (by_peer[123].in_use, by_peer[123].budget) == (1, RANGE.usable - 4)


def test_time_wait_reuse_follows_the_sysctl_and_loopback_rule() -> None:
    assert tw_reusable(1, "192.0.2.7")
    assert tw_reusable(2, "127.0.0.1") and tw_reusable(2, "::1")
    assert tw_reusable(2, "::ffff:127.0.0.1")
    assert not tw_reusable(2, "192.0.2.7") and not tw_reusable(2, "::ffff:192.0.2.7")
    assert not tw_reusable(0, "127.0.0.1") and not tw_reusable(None, "127.0.0.1")


peers = st.sampled_from([("127.0.0.1", 5000), ("127.0.0.2", 5000), ("::1", 443)])
connection = st.builds(
    lambda port, peer, state, proto: Socket(
        proto,
        "ipv6" if ":" in peer[0] else "ipv4",
        "::1" if ":" in peer[0] else "127.0.0.1",
        port,
        peer[0],
        peer[1],
        state if proto == "tcp" else None,
    ),
    st.integers(39990, 40025),
    peers,
    st.sampled_from(STATES),
    st.sampled_from(["tcp", "udp"]),
)
listener = st.builds(
    lambda port, proto: Socket(
        proto, "ipv4", "0.0.0.0", port, state="LISTEN" if proto == "tcp" else None
    ),
    st.integers(39990, 40025),
    st.sampled_from(["tcp", "udp"]),
)


@given(st.lists(connection, max_size=40), st.lists(listener, max_size=6), st.sampled_from([0, 2]))
def test_pressure_stays_within_its_budget(
    connections: list[Socket], listeners: list[Socket], tw_reuse: int
) -> None:
    thresholds = Thresholds(warning=50, critical=75)
    pressure = destination_pressure(table(connections + listeners, tw_reuse), thresholds)
    for item in pressure:
        assert 0 <= item.time_wait <= item.in_use <= item.budget <= RANGE.usable
        assert 0 < item.percent <= 100
        assert item.level == thresholds.level(item.percent)
    assert [p.percent for p in pressure] == sorted((p.percent for p in pressure), reverse=True)
    assert len({p.destination for p in pressure}) == len(pressure)


@given(st.lists(connection, max_size=40), st.integers(0, 5))
def test_a_limited_report_is_the_head_of_the_full_ranking(
    connections: list[Socket], limit: int
) -> None:
    snapshot = table(connections)
    everything = destination_pressure(snapshot)
    assert destination_pressure(snapshot, limit=limit) == everything[:limit]
    report = HealthTracker(pressure_limit=limit).update(snapshot)
    assert report.pressure == tuple(everything[:limit])
    assert report.destinations == len(everything)
