"""What the panes are handed, headless: each poll follows the one shown before it, even
when polls were skipped on the way to the screen."""

from __future__ import annotations

from demo.server import demo_snapshot
from portscope.delta import Delta
from portscope.view.port_use import PortUse
from portscope.view.showing import Showing


def ports(sockets: tuple) -> set[int]:
    return {s.local_port for s in sockets}


def test_the_first_poll_is_first_and_the_next_one_carries_the_pollers_delta() -> None:
    showing = Showing()
    base, later = demo_snapshot(), demo_snapshot(1)
    first = showing.follow(base, Delta.between(None, base), 1, now=0.0)
    assert first.first and first.snapshot is base and first.sequence == 1
    delta = Delta.between(base, later)
    shown = showing.follow(later, delta, 2, now=1.0)
    assert not shown.first and shown.delta is delta
    assert shown.lent == PortUse(later).lent
    assert shown.context.connections_to == PortUse(later).peers()


def test_a_skipped_poll_is_shown_with_a_delta_from_the_poll_on_screen() -> None:
    """Polls 2 to 5 never reached the screen: poll 6's own Delta (from poll 5, here
    empty) would miss what changed since poll 1."""
    showing = Showing()
    showing.follow(demo_snapshot(), Delta(), 1, now=0.0)
    shown = showing.follow(demo_snapshot(1), Delta(), 6, now=1.0)
    assert {46001, 46002} <= ports(shown.delta.added)
    assert ports(shown.delta.removed), "curl's connection closed"
    assert showing.sequence == 6


def test_relabelling_names_peers_from_then_on_and_waits_for_a_poll() -> None:
    showing = Showing()
    assert showing.relabel() is None

    def name_of(address: str) -> str:
        return f"name-of-{address}"

    showing.name_of = name_of
    showing.follow(demo_snapshot(), Delta(), 1, now=0.0)
    relabel = showing.relabel(frozenset({"203.0.113.80"}))
    assert relabel is not None and relabel.peers == {"203.0.113.80"}
    assert relabel.context.name_of is name_of
