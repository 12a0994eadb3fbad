"""The filter grammar on its own: what it accepts, what it refuses and where, and that no
text makes it raise anything but its own error (`test_filters_ss.py` checks what the
expressions select against ss on real sockets)."""

from __future__ import annotations

import socket
from operator import itemgetter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portscope.model import Owner, Socket
from portscope.view.columns import Column, Columns, Row
from portscope.view.filters import FilterSyntaxError, SocketText, compile_filter
from portscope.view.table_model import FilterError, compile_regex

NGINX = Owner(pid=812, name="nginx", user="www-data")
SOCKETS = (
    Socket("tcp", "ipv4", "0.0.0.0", 443, state="LISTEN", owner=NGINX, inode=7, uid=33),
    Socket("tcp", "ipv4", "10.0.0.5", 443, "203.0.113.9", 51000, "ESTABLISHED", NGINX, 8, 33),
    Socket("tcp", "ipv6", "::ffff:10.0.0.5", 40000, "::ffff:10.0.0.9", 5432, "TIME_WAIT"),
    Socket("tcp", "ipv6", "fe80::1%eth0", 22, "fe80::2", 60000, "NEW_SYN_RECV"),
    Socket("udp", "ipv6", "::1", 53, owner=Owner(pid=90, name=None, user=None)),
    Socket("udp", "ipv4", "127.0.0.1", 41000, "127.0.0.53", 53, owner=Owner(pid=91)),
)
LISTENER, SERVED, MAPPED, HANDSHAKE, UDP_BOUND, UDP_CONNECTED = SOCKETS


def selected(text: str) -> tuple[Socket, ...]:
    chosen = compile_filter(text)
    assert chosen is not None
    return tuple(s for s in SOCKETS if chosen.matches(s, SocketText(s)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state established", (SERVED, UDP_CONNECTED)),
        ("state syn-recv", (HANDSHAKE,)),
        ("state bucket", (MAPPED, HANDSHAKE)),
        ("state closed", (UDP_BOUND,)),
        ("state established proto udp", (UDP_CONNECTED,)),
        ("dst 10.0.0.0/8", (MAPPED,)),
        ("dst [::ffff:10.0.0.9]", (MAPPED,)),
        ("src 10.0.0.5:443", (SERVED,)),
        ("src fe80::1", (HANDSHAKE,)),
        ("src [fe80::/10]:22", (HANDSHAKE,)),
        ("dport = :5432", (MAPPED,)),
        ("process nginx", (LISTENER, SERVED)),
        ("process = NGINX", (LISTENER, SERVED)),
        ("process ~ '^ng.n'", (LISTENER, SERVED)),
        ("process != nginx", (MAPPED, HANDSHAKE, UDP_BOUND, UDP_CONNECTED)),
        ("user ~ www", (LISTENER, SERVED)),
        ("uid = 33", (LISTENER, SERVED)),
        ("pid >= 91", (LISTENER, SERVED, UDP_CONNECTED)),
        ("pid ~ '^9'", (UDP_BOUND, UDP_CONNECTED)),
        ("family ipv6 and not state time-wait", (HANDSHAKE, UDP_BOUND)),
        ("family inet", (LISTENER, SERVED, UDP_CONNECTED)),
        ("exposure all", (LISTENER,)),
        ("exposure = loopback", (UDP_BOUND, UDP_CONNECTED)),
        ("state ~ wait", (MAPPED,)),
        ("dst ~ ':5432$'", (MAPPED,)),
        ("nginx and state listening", (LISTENER,)),
        ('"0.0.0.0:443"', (LISTENER,)),
        ("process ~ '^\\w+x$'", (LISTENER, SERVED)),
        ("process ~ \"ngin\\\"\" or process = 'a\\'b'", ()),
        ("not ( nginx or udp )", (MAPPED, HANDSHAKE)),
        ("sport<1024&&proto=tcp", (LISTENER, SERVED, HANDSHAKE)),
        ("sport < 1024 || dport == 53", (LISTENER, SERVED, HANDSHAKE, UDP_BOUND, UDP_CONNECTED)),
        ("STATE ESTABLISHED", (SERVED, UDP_CONNECTED)),
        ("state TIME_WAIT", (MAPPED,)),
        ("exclude listening exclude closed", (SERVED, MAPPED, HANDSHAKE, UDP_CONNECTED)),
    ],
)
def test_what_an_expression_selects(text: str, expected: tuple[Socket, ...]) -> None:
    assert selected(text) == expected


def test_a_service_name_is_its_port_as_in_ss() -> None:
    try:
        https = socket.getservbyname("https", "tcp")
    except OSError:
        pytest.skip("no https in this system's services database")
    assert https == 443
    assert selected("sport = :https") == selected("sport = :443") == (LISTENER, SERVED)


TEXT_COLUMNS: Columns[tuple[str, ...]] = Columns(
    *(Column(f"c{i}", f"c{i}", 4, cell=itemgetter(i)) for i in range(5))
)


def text_row(key: int, *texts: str) -> Row:
    """A row of these cells, one column each."""
    return TEXT_COLUMNS.row(key, texts)


ROWS = (
    text_row(1, "tcp", "0.0.0.0", "443", "nginx", "www-data"),
    text_row(2, "tcp6", "::1", "8080", "my server", "root"),
    text_row(3, "udp", "127.0.0.1", "53", "state", "user"),
)


@pytest.mark.parametrize(
    "text", ["nginx", "NGINX", "my server", "8080", "::1", "tcp6", "user", "state", "a b c", " "]
)
def test_plain_text_keeps_its_meaning(text: str) -> None:
    """Text with nothing of the grammar in it is the substring it always was."""
    chosen = compile_filter(text)
    assert chosen is not None and not chosen.uses_socket
    needle = text.casefold()
    assert [chosen.matches(None, row) for row in ROWS] == [needle in row.search for row in ROWS]


@pytest.mark.parametrize("text", ["re:^80", "re:(?i)NGINX$", "re:^53$|^443$"])
def test_regex_prefix_keeps_its_meaning(text: str) -> None:
    chosen, old = compile_filter(text), compile_regex(text.removeprefix("re:"))
    assert chosen is not None and not chosen.uses_socket
    assert [chosen.matches(None, row) for row in ROWS] == [
        old.search(row.lines) is not None for row in ROWS
    ]


def test_nothing_to_filter_is_none() -> None:
    assert compile_filter("") is None
    assert compile_filter("re:") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dport =", "at 8: expected a value for 'dport' after '='"),
        ("sport = :443 and dport eq", "at 26: expected a value for 'dport' after 'eq'"),
        ("dport = :x443", "at 9: ':x443' is not a port (0 to 65535, or a service name)"),
        ("dport = 65536", "at 9: '65536' is not a port (0 to 65535)"),
        ("( dport = :1", "at 1: '(' is never closed"),
        ("dport = :1 )", "at 12: ')' without a matching '('"),
        ("state established )", "at 19: ')' without a matching '('"),
        ("()", "at 2: expected a term after '('"),
        ("and state listening", "at 1: 'and' needs a term before it"),
        ("state listening or", "at 19: expected a term after 'or'"),
        ("not", "at 4: expected a term after 'not'"),
        ("= :443", "at 1: '=' needs a field before it"),
        ("state foo", "at 7: 'foo' is not a state (established, syn-sent,"),
        ("state < established", "at 7: 'state' takes =, !=, ~, not '<'"),
        ("process >= a", "at 9: 'process' takes =, !=, ~, not '>='"),
        ("dst example.com", "at 5: 'example.com' is not an address, network or host:port"),
        ("dst [::1", "at 5: '[::1' is not [address]:port"),
        ("dst 10.0.0.1:http-nope", "at 5: '10.0.0.1:http-nope': 'http-nope' is not a port"),
        ("dport < *", "at 9: '*' (any) can only be compared with ="),
        ("process ~ '(a'", "at 11: bad regular expression: missing )"),
        ("process ~ 'a\\1'", "at 11: bad regular expression: invalid escape sequence: \\1"),
        ('user = "www', 'at 8: the quote " is never closed'),
        ("a or b and c", "at 8: 'and' and 'or' together need parentheses"),
        ("a or b c", "at 8: 'and' and 'or' together need parentheses"),
        ("state listening sport = :1 or dport = :2 and x", "at 42: 'and' and 'or'"),
        ("x exclude listening", "at 3: 'exclude' is only taken at the start, as in ss"),
        ("pid = -1", "at 7: '-1' is not a whole number"),
        ("re:(", "at 4: bad regular expression: missing )"),
        ("(" * 70 + "x" + ")" * 70, "at 65: nested more than 64 deep"),
        ("not " * 70 + "x", "at 257: nested more than 64 deep"),
        ("process ~ '\udcff'", "at 11: a regular expression must be text"),
        ("dport\n=", "at 8: expected a value for 'dport' after '='"),
    ],
)
def test_a_bad_expression_says_where_and_why(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        compile_filter(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, FilterError)  # the dashboard shows it beside the box
    assert str(caught.value) == f"at {caught.value.position}: {caught.value.reason}"


def test_an_error_quotes_hostile_text_on_one_line() -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        compile_filter("dst '\x1b[31mred\n\u202e" + "x" * 200 + "'")
    text = str(caught.value)
    assert "\x1b" not in text and "\n" not in text and "\u202e" not in text
    assert len(text) < 200


def test_long_flat_expressions_are_fine() -> None:
    """Only nesting is bounded: a thousand alternatives neither recurse nor refuse."""
    text = " or ".join(f"dport = :{port}" for port in range(1000))
    assert selected(text) == (LISTENER, UDP_BOUND, UDP_CONNECTED)  # a missing peer is port 0
    assert len(selected(" and ".join(["not zzz"] * 2000))) == len(SOCKETS)


WORDS = [
    *("sport", "dport", "src", "dst", "state", "proto", "family", "process", "pid", "user"),
    *("uid", "exposure", "exclude", "and", "or", "not", "=", "!=", "<", ">", "<=", ">=", "~"),
    *("==", "eq", "ne", "gt", "lt", "ge", "le", "!", "&", "&&", "|", "||", "(", ")", ":443"),
    *("443", "*", ":*", "10.0.0.0/8", "[::1]:22", "[::1", "10/8", "fe80::1%lo", "established"),
    *("connected", "bucket", "big", "all", "listening", "tcp", "udp", "ipv6", "nginx", "'q"),
    *("v'", '"', "'", "\\", "re:", "^a$", "(a+)+$", "-1", "99999999999999999999999", "﹦"),
    *("\udcff", "\x00", "'quoted value'"),
]


def evaluates_quietly(text: str) -> None:
    """Compiling raises only FilterSyntaxError; a compiled filter never raises."""
    try:
        chosen = compile_filter(text)
    except FilterSyntaxError:
        return
    if chosen is not None:
        for sock in SOCKETS:
            chosen.matches(sock, SocketText(sock))
            chosen.matches(None, ROWS[0])


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(exclude_categories=())))
def test_any_text_raises_only_its_own_error(text: str) -> None:
    evaluates_quietly(text)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=12), st.sampled_from(["", " ", "  "]))
def test_any_token_soup_raises_only_its_own_error(words: list[str], gap: str) -> None:
    evaluates_quietly((gap or " ").join(words) if gap else "".join(words))
