"""Reverse DNS: cached, de-duplicated, bounded, and never blocking the caller.

Answers arrive on a queue the tests wait on; the waits are bounded only so that a
broken resolver fails instead of hanging, and nothing asserts how long anything took.
"""

from __future__ import annotations

import queue
import threading
import time

from portscope.resolve import Resolver

PATIENCE = 10.0
"""Longest wait for something that should happen; only a broken resolver reaches it."""

Answer = tuple[str, "str | None"]


class Answers(queue.Queue[Answer]):
    """The resolver's callback: every answer, in order, for the test to wait on."""

    def __call__(self, address: str, name: str | None) -> None:
        self.put((address, name))

    def next(self) -> Answer:
        return self.get(timeout=PATIENCE)


def test_real_lookup_of_loopback_arrives_through_the_callback_and_is_cached() -> None:
    answers = Answers()
    resolver = Resolver(answers)
    try:
        assert resolver.name("127.0.0.1") is None
        address, name = answers.next()
        assert address == "127.0.0.1"
        assert name  # /etc/hosts names loopback (localhost, or this host's name)
        assert resolver.name("127.0.0.1") == name
        assert answers.empty()
    finally:
        resolver.close()


def test_a_stuck_lookup_never_blocks_and_is_asked_once() -> None:
    """The lookup is held until the test lets it go, after its 1000 calls: a `name()`
    that waited for it would wait out PATIENCE and find it returned."""
    started, release, returned = threading.Event(), threading.Event(), threading.Event()
    calls: list[str] = []

    def stuck(address: str) -> str:
        calls.append(address)
        started.set()
        release.wait(PATIENCE)
        returned.set()
        return "slow.example"

    answers = Answers()
    resolver = Resolver(answers, lookup=stuck, timeout=PATIENCE * 2)
    try:
        for _ in range(1000):
            assert resolver.name("192.0.2.1") is None
        assert not returned.is_set(), "name() waited for the lookup"
        assert started.wait(PATIENCE)
        release.set()
        assert answers.next() == ("192.0.2.1", "slow.example")
        assert calls == ["192.0.2.1"]
    finally:
        release.set()
        resolver.close()


def test_failures_are_cached_negatively_and_slow_answers_count_as_failures() -> None:
    """One worker answers in order: once the later address is answered, a second lookup
    of the first, had it been queued, would have been answered before it."""
    calls: list[str] = []

    def slow_for_the_first(address: str) -> str:
        calls.append(address)
        if address == "192.0.2.2":
            time.sleep(0.1)
        return "late.example"

    answers = Answers()
    resolver = Resolver(answers, workers=1, lookup=slow_for_the_first, timeout=0.02)
    try:
        resolver.name("192.0.2.2")
        assert answers.next() == ("192.0.2.2", None)
        assert resolver.name("192.0.2.2") is None
        resolver.name("192.0.2.3")
        assert answers.next() == ("192.0.2.3", "late.example")
        assert calls == ["192.0.2.2", "192.0.2.3"], "the negative answer was asked again"
        assert answers.empty()
    finally:
        resolver.close()


def test_cache_is_bounded() -> None:
    answers = Answers()
    resolver = Resolver(answers, lookup=lambda a: "h", max_entries=10)
    try:
        for i in range(50):
            resolver.name(f"192.0.2.{i}")
        for _ in range(50):
            answers.next()
        assert len(resolver) == 10
    finally:
        resolver.close()
