"""The new-row and gone-row timers of the Ephemeral pane: due keys, found from the front."""

from __future__ import annotations

from portscope.ui.widgets.ephemeral import Timers


def test_due_keys_come_out_oldest_first_and_only_once() -> None:
    timers = Timers()
    for key, since in (("a", 0.0), ("b", 1.0), ("c", 2.0)):
        timers.add(key, since)
    assert timers.pop_due(now=5.0, after=4.0) == ["a", "b"]
    assert timers.pop_due(now=5.0, after=4.0) == []
    assert "c" in timers and "a" not in timers
    assert timers.pop_due(now=6.0, after=4.0) == ["c"]


def test_a_key_started_again_waits_its_full_time() -> None:
    timers = Timers()
    timers.add("a", 0.0)
    timers.add("b", 1.0)
    timers.add("a", 3.0)
    assert timers.pop_due(now=5.0, after=4.0) == ["b"]
    assert timers.pop_due(now=7.0, after=4.0) == ["a"]


def test_a_clock_that_steps_back_still_finds_every_due_key() -> None:
    timers = Timers()
    timers.add("before the step", 100.0)
    timers.add("after the step", 50.0)
    assert timers.pop_due(now=55.0, after=4.0) == ["after the step"]
    assert timers.pop_due(now=104.0, after=4.0) == ["before the step"]
    timers.add("x", 10.0)
    timers.add("y", 11.0)
    assert timers.pop_due(now=14.5, after=4.0) == ["x"]


def test_keep_only_keeps_the_order() -> None:
    timers = Timers()
    for key, since in (("a", 0.0), ("b", 1.0), ("c", 2.0)):
        timers.add(key, since)
    timers.keep_only({"c", "a"})
    assert "b" not in timers
    assert timers.pop_due(now=10.0, after=4.0) == ["a", "c"]
