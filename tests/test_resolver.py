"""Reverse DNS: cached, de-duplicated, bounded, and never blocking the caller."""

from __future__ import annotations

import threading
import time

from portscope.resolve import Resolver


def wait_for(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_real_lookup_of_loopback_arrives_through_the_callback_and_is_cached() -> None:
    answers: list[tuple[str, str | None]] = []
    resolver = Resolver(lambda a, n: answers.append((a, n)))
    try:
        assert resolver.name("127.0.0.1") is None
        assert wait_for(lambda: answers)
        address, name = answers[0]
        assert address == "127.0.0.1"
        assert name  # /etc/hosts names loopback (localhost, or this host's name)
        assert resolver.name("127.0.0.1") == name
        assert len(answers) == 1
    finally:
        resolver.close()


def test_a_stuck_lookup_never_blocks_and_is_asked_once() -> None:
    release = threading.Event()
    calls: list[str] = []

    def stuck(address: str) -> str:
        calls.append(address)
        release.wait(5)
        return "slow.example"

    answers: list[tuple[str, str | None]] = []
    resolver = Resolver(lambda a, n: answers.append((a, n)), lookup=stuck, timeout=10)
    try:
        started = time.perf_counter()
        for _ in range(1000):
            assert resolver.name("192.0.2.1") is None
        assert time.perf_counter() - started < 1.0
        assert wait_for(lambda: calls)
        assert calls == ["192.0.2.1"]
        release.set()
        assert wait_for(lambda: answers)
        assert answers == [("192.0.2.1", "slow.example")]
    finally:
        release.set()
        resolver.close()


def test_failures_are_cached_negatively_and_slow_answers_count_as_failures() -> None:
    def slow(address: str) -> str:
        time.sleep(0.2)
        return "late.example"

    answers: list[tuple[str, str | None]] = []
    resolver = Resolver(lambda a, n: answers.append((a, n)), lookup=slow, timeout=0.05)
    try:
        resolver.name("192.0.2.2")
        assert wait_for(lambda: answers)
        assert answers == [("192.0.2.2", None)]
        assert resolver.name("192.0.2.2") is None
        time.sleep(0.3)
        assert len(answers) == 1  # the negative answer is cached, not asked again
    finally:
        resolver.close()


def test_cache_is_bounded() -> None:
    done = threading.Semaphore(0)
    resolver = Resolver(lambda a, n: done.release(), lookup=lambda a: "h", max_entries=10)
    try:
        for i in range(50):
            resolver.name(f"192.0.2.{i}")
        for _ in range(50):
            assert done.acquire(timeout=5)
        assert len(resolver) == 10
    finally:
        resolver.close()
