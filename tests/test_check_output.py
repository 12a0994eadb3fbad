"""`portscope check` verdicts where nothing is wrong but something could not be read."""

from __future__ import annotations

from portscope.analysis import HealthTracker
from portscope.model import EphemeralRange, Snapshot
from portscope.report.check import failure, outcome

QUIET = Snapshot(
    taken_at=0.0,
    host="test",
    privileged=True,
    ephemeral_range=EphemeralRange(low=40000, high=40009),
    listeners=(),
    connections=(),
)


def test_an_unreadable_table_with_no_problem_found_is_unknown() -> None:
    result = outcome(HealthTracker().update(QUIET), ["/proc/net/tcp6: Permission denied"])
    assert (result.status, result.exit_code) == ("UNKNOWN", 3)
    head, *details = result.text.splitlines()
    assert head.startswith("PORTSCOPE UNKNOWN - could not read everything: /proc/net/tcp6")
    assert "UNKNOWN: could not read /proc/net/tcp6: Permission denied" in details
    assert result.record["errors"] == ["/proc/net/tcp6: Permission denied"]


def test_a_quiet_machine_is_ok_and_says_the_trend_needs_two_polls() -> None:
    result = outcome(HealthTracker().update(QUIET))
    assert (result.status, result.exit_code) == ("OK", 0)
    assert result.text.splitlines()[1:] == [
        "CLOSE_WAIT growth and listen drops need two polls: pass --interval"
    ]


def test_a_failed_poll_is_unknown_and_escapes_what_it_quotes() -> None:
    result = failure("snapshot failed: OSError: bad \x1b[31mname")
    assert (result.status, result.exit_code) == ("UNKNOWN", 3)
    assert result.text == "PORTSCOPE UNKNOWN - snapshot failed: OSError: bad \\x1b[31mname"
