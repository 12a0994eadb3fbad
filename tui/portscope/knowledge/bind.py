"""\"Can I bind port P?\": a verdict from what holds the port now and how the kernel treats it.

On Linux a bind to all addresses fails while any socket holds the port locally: a
listener, but also an outgoing connection that was lent the port, even with SO_REUSEADDR.
TIME_WAIT leftovers step aside only for a server that sets SO_REUSEADDR when the old
socket had it too: true of a restarted server's own connections, not of outgoing ones.
Outgoing connections are only lent ports from the ephemeral range, so that is the guess.

Ports are per network namespace: a container's own 8080 does not stop a bind of 8080
here, so sockets of other namespaces are named but do not count. A container's port
published on this one does: its helper (conmon, docker-proxy) holds it here, or, with
NAT rules alone, a bind succeeds but the rules send the connections to the container.
"""

from __future__ import annotations

from collections.abc import Sequence

from portscope.knowledge.records import BindVerdict
from portscope.model import TIME_WAIT, EphemeralRange, Publication, Socket, endpoint

SHOWN_HOLDERS = 5


def holder(sock: Socket) -> str:
    """`tcp 0.0.0.0:8080 (nginx, pid 42)` — what a person needs to find the process."""
    owner = sock.owner
    who = (
        f"{owner.name or 'unnamed process'}, pid {owner.pid}"
        if owner
        else "process hidden from this user"
    )
    return f"{sock.proto} {endpoint(sock.local_address, sock.local_port)} ({who})"


def helper_name(sock: Socket) -> str:
    """The process holding a published port for a container (conmon, docker-proxy)."""
    return (sock.owner.name if sock.owner else None) or "its helper"


def _lingers(sock: Socket) -> bool:
    """A TCP connection in TIME_WAIT: gone from its process, still in the kernel's tables."""
    return sock.proto == "tcp" and sock.state == TIME_WAIT


def bind_verdict(
    port: int,
    local: Sequence[Socket] | None,
    rng: EphemeralRange,
    privileged: bool,
    unprivileged_start: int,
    elsewhere: Sequence[tuple[Socket, str]] = (),
    published: Sequence[Publication] = (),
) -> BindVerdict:
    """`local` are the sockets of this namespace whose local port is `port`, or None
    when nothing live was read; `elsewhere` those of other namespaces, each with its
    namespace's name; `published` the containers' ports published on it."""
    if port == 0:
        return BindVerdict(True, "Yes: port 0 asks the kernel for any free port.", ())
    reasons: list[str] = []
    live = local is not None
    sockets = list(local or ())
    listeners = [s for s in sockets if s.is_listener]
    lingering = [s for s in sockets if _lingers(s)]
    borrowed = [s for s in sockets if not s.is_listener and not _lingers(s)]
    reasons += [f"listening: {holder(s)}" for s in listeners[:SHOWN_HOLDERS]]
    if len(listeners) > SHOWN_HOLDERS:
        reasons.append(f"and {len(listeners) - SHOWN_HOLDERS} more listening sockets")
    if borrowed:
        reasons.append(
            f"{len(borrowed)} connection(s) hold it as their local port, e.g. "
            f"{holder(borrowed[0])}; a bind to all addresses fails until they close"
        )
    lingering_blocks = bool(lingering) and port in rng
    if lingering_blocks:
        reasons.append(
            f"{len(lingering)} recently closed connection(s) that were lent it are in TIME_WAIT; "
            "a bind fails until they expire (about a minute), even with SO_REUSEADDR"
        )
    elif lingering:
        reasons.append(
            f"{len(lingering)} connection(s) in TIME_WAIT, likely a stopped server's own; "
            "a server that sets SO_REUSEADDR (most do) can bind anyway"
        )
    forwarded = [p for p in published if p.holder is None]
    reasons += [
        f"published for {p.target}: {helper_name(p.holder)} holds {p.host_side} here for "
        "the container"
        if p.holder is not None
        else f"published with NAT rules only: {p.host_side} → {p.target}; a bind succeeds "
        "but the rules send its connections to the container"
        for p in published
    ]
    reasons += [
        f"in network namespace {name}, which does not stop a bind here: {holder(s)}"
        for s, name in elsewhere[:SHOWN_HOLDERS]
    ]
    if len(elsewhere) > SHOWN_HOLDERS:
        reasons.append(f"and {len(elsewhere) - SHOWN_HOLDERS} more in other network namespaces")
    needs_privilege = port < unprivileged_start and not privileged
    if needs_privilege:
        reasons.append(
            f"ports below {unprivileged_start} need root or CAP_NET_BIND_SERVICE "
            "(net.ipv4.ip_unprivileged_port_start)"
        )
    if port in rng.reserved:
        reasons.append("reserved in ip_local_reserved_ports: outgoing connections never take it")
    elif rng.low <= port <= rng.high:
        reasons.append(
            f"inside the ephemeral range {rng.low}-{rng.high}: an outgoing connection may "
            "be lent this port at any moment and block a service from starting "
            f"(on Linux, adding {port} to net.ipv4.ip_local_reserved_ports prevents that)"
        )
    if not live:
        reasons.append("no live data was read, so current holders are unknown")
    blocked = bool(listeners or borrowed or lingering_blocks or needs_privilege or forwarded)
    held = bool(borrowed) or lingering_blocks
    verdict = _verdict(port, listeners, held, needs_privilege, rng, live, forwarded)
    return BindVerdict(not blocked, verdict, tuple(reasons))


def _verdict(
    port: int,
    listeners: list[Socket],
    held: bool,
    needs_privilege: bool,
    rng: EphemeralRange,
    live: bool,
    forwarded: Sequence[Publication],
) -> str:
    if listeners:
        return f"No: port {port} is taken by {holder(listeners[0])}."
    if forwarded:
        return f"No: port {port} is published for {forwarded[0].target} by NAT rules."
    if held:
        return f"No: outgoing connections hold port {port} as their local port, or just did."
    if needs_privilege:
        return "Not as this user: it needs root or CAP_NET_BIND_SERVICE."
    if not live:
        return "Probably: nothing known holds it, but no live data was read."
    if port in rng:
        return "Yes, but it can collide: the kernel lends this port to outgoing connections."
    return "Yes: nothing here holds it."
