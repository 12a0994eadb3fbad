"""Recognising the user's own SSH connection from $SSH_CONNECTION."""

from __future__ import annotations

import pytest

from portscope.model import Socket
from portscope.session import current_session


def established(local: str, lport: int, remote: str, rport: int) -> Socket:
    family = "ipv6" if ":" in local else "ipv4"
    return Socket("tcp", family, local, lport, remote, rport, "ESTABLISHED")


def test_the_session_socket_is_recognised_even_v4_mapped() -> None:
    session = current_session({"SSH_CONNECTION": "198.51.100.7 50522 192.0.2.10 22"})
    assert session is not None
    assert session.is_connection(established("192.0.2.10", 22, "198.51.100.7", 50522))
    mapped = established("::ffff:192.0.2.10", 22, "::ffff:198.51.100.7", 50522)
    assert session.is_connection(mapped)
    assert not session.is_connection(established("192.0.2.10", 22, "198.51.100.7", 50523))
    listener = Socket("tcp", "ipv4", "0.0.0.0", 22, state="LISTEN")
    assert session.is_listener(listener)


def test_ipv6_sessions_with_a_scope_id() -> None:
    session = current_session({"SSH_CONNECTION": "fe80::1%eth0 40000 fe80::2%eth0 2222"})
    assert session is not None
    assert session.is_connection(established("fe80::2", 2222, "fe80::1", 40000))


@pytest.mark.parametrize("value", ["", "garbage", "1.2.3.4 x 5.6.7.8 22", "a b c"])
def test_absent_or_malformed_means_no_session(value: str) -> None:
    assert current_session({"SSH_CONNECTION": value}) is None
