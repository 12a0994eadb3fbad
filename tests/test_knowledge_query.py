"""The query parser: what it accepts, what it refuses, and that it never raises anything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portscope.knowledge import (
    NameQuery,
    PortQuery,
    QueryError,
    RangeQuery,
    lookup,
    parse_query,
)
from portscope.knowledge.query import ACCEPTED
from portscope.model import EphemeralRange, PortRules

RULES = PortRules(EphemeralRange(32768, 60999), 1024, privileged=False, platform="linux")

BAD_INPUTS = [
    "", "   ", "\t\n", "abc!!", "-1", "65536", "99999999999999999999", "9000-8000",
    "0x50", "６０６３０", "٦٠٦٣٠", "x" * 10_000, "\x1b[2J", "ssh\x00", "a\u202ecba",
    "1-2-3", "80-", "-80", "8080/tcp", "ssh;rm", "80 443",
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60630", PortQuery(60630)),
        ("0", PortQuery(0)),
        ("65535", PortQuery(65535)),
        (" 22 ", PortQuery(22)),
        ("00022", PortQuery(22)),
        ("8000-8100", RangeQuery(8000, 8100)),
        ("8000 - 8100", RangeQuery(8000, 8100)),
        ("443-443", RangeQuery(443, 443)),
        ("ssh", NameQuery("ssh")),
        ("Xsan", NameQuery("Xsan")),
        ("http-alt", NameQuery("http-alt")),
        ("  apple   iphone ", NameQuery("apple iphone")),
    ],
)
def test_accepted_queries(text: str, expected: object) -> None:
    assert parse_query(text) == expected


@pytest.mark.parametrize("text", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_bad_queries_say_what_is_accepted_on_one_line(text: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    message = str(caught.value)
    assert ACCEPTED in message
    assert message.isprintable() and len(message) < 300


@given(st.integers(min_value=0, max_value=65535))
def test_every_port_parses_to_itself(port: int) -> None:
    assert parse_query(str(port)) == PortQuery(port)


@given(st.integers(min_value=65536))
def test_ports_past_65535_are_refused(port: int) -> None:
    with pytest.raises(QueryError):
        parse_query(str(port))


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_ranges_parse_or_refuse_by_order(low: int, high: int) -> None:
    if low <= high:
        assert parse_query(f"{low}-{high}") == RangeQuery(low, high)
    else:
        with pytest.raises(QueryError):
            parse_query(f"{low}-{high}")


@settings(max_examples=500)
@given(st.text(max_size=80))
def test_the_parser_raises_only_its_own_error(text: str) -> None:
    try:
        query = parse_query(text)
    except QueryError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(query, PortQuery | RangeQuery | NameQuery)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=30), st.from_regex(r"[0-9]{1,6}(-[0-9]{1,6})?", fullmatch=True)))
def test_lookup_raises_only_the_parse_error(text: str) -> None:
    try:
        result = lookup(text, RULES, limit=3)
    except QueryError:
        return
    assert result.query == text
    assert len(result.reports) <= 3 <= result.total or len(result.reports) == result.total
