"""The witness must be right too: `ss` rows as this iproute2 prints them."""

from __future__ import annotations

import pytest

from ss import parse_line

ROWS = [
    (
        'tcp LISTEN 0 128 127.0.0.1%lo:34481 0.0.0.0:* users:(("python",pid=6205,fd=8))',
        ("tcp", "127.0.0.1", 34481, None, None, "LISTEN", 6205),
    ),
    (
        "tcp LISTEN 0 128 [fe80::1]%lo:32975 [::]:*",
        ("tcp", "fe80::1%lo", 32975, None, None, "LISTEN", None),
    ),
    (
        'udp UNCONN 0 0 *:47908 *:* users:(("a",pid=9,fd=7),("b",pid=3,fd=1))',
        ("udp", "::", 47908, None, None, None, 3),
    ),
    (
        "tcp ESTAB 0 0 [::ffff:127.0.0.1]:38905 [::ffff:127.0.0.1]:39868",
        ("tcp", "::ffff:127.0.0.1", 38905, "::ffff:127.0.0.1", 39868, "ESTABLISHED", None),
    ),
    (
        "udp ESTAB 0 0 127.0.0.1:40673 127.0.0.1:9",
        ("udp", "127.0.0.1", 40673, "127.0.0.1", 9, None, None),
    ),
    (
        "tcp TIME-WAIT 0 0 [::1]:5000 [::1]:41000",
        ("tcp", "::1", 5000, "::1", 41000, "TIME_WAIT", None),
    ),
]


@pytest.mark.parametrize(("line", "expected"), ROWS)
def test_parse_line(line: str, expected: tuple) -> None:
    assert parse_line(line) == expected
