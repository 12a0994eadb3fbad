"""One reading of an address: every spelling of it gets the same answer from every caller.

The five places that used to read addresses themselves (interface naming, the SSH
session, exposure, TIME_WAIT reuse, the address sort) now all ask `portscope.addresses`.
"""

from __future__ import annotations

import pytest

from portscope.addresses import parse_ip, plain_address, plain_ip, scope_of, unscoped
from portscope.analysis.pressure import tw_reusable
from portscope.exposure import bind_label, exposure_of
from portscope.model import Interface, InterfaceTable, Socket
from portscope.session import current_session
from portscope.view.socket_cells import address_sort

INTERFACES = InterfaceTable(
    interfaces=(
        Interface("lo", ("127.0.0.1", "::1")),
        Interface("eth0", ("192.0.2.10", "2001:db8::10", "fe80::aa%eth0")),
    )
)
SPELLINGS = {
    "v4-mapped loopback": ("::ffff:127.0.0.1", "::FFFF:127.0.0.1", "::ffff:7f00:1"),
    "scoped link-local": ("fe80::aa%eth0", "FE80::AA%eth0", "fe80:0:0::aa%eth0"),
    "upper-case v6": ("2001:db8::10", "2001:DB8::10", "2001:db8:0:0:0:0:0:10"),
    "v6 wildcard": ("::", "0:0::0", "0:0:0:0:0:0:0:0"),
}
PLAIN = {
    "v4-mapped loopback": "127.0.0.1",
    "scoped link-local": "fe80::aa",
    "upper-case v6": "2001:db8::10",
    "v6 wildcard": "::",
}


@pytest.mark.parametrize("group", SPELLINGS)
def test_every_spelling_reads_as_the_same_plain_address(group: str) -> None:
    assert {plain_address(spelling) for spelling in SPELLINGS[group]} == {PLAIN[group]}
    assert len({parse_ip(spelling) for spelling in SPELLINGS[group]}) == 1


@pytest.mark.parametrize("group", SPELLINGS)
def test_the_five_callers_agree_on_every_spelling(group: str) -> None:
    """What each caller says about the first spelling, it says about the others."""
    answers = set()
    for spelling in SPELLINGS[group]:
        session = current_session({"SSH_CONNECTION": f"{spelling} 50000 {spelling} 22"})
        assert session is not None
        sock = Socket("tcp", "ipv6", spelling, 22, spelling, 50000, "ESTABLISHED")
        answers.add(
            (
                INTERFACES.name_for(spelling),
                exposure_of(spelling),
                session.is_connection(sock),
                tw_reusable(2, spelling),
                address_sort(spelling),
            )
        )
    assert len(answers) == 1, answers


def test_the_answers_the_old_places_gave_are_kept() -> None:
    assert INTERFACES.name_for("::ffff:192.0.2.10") == "eth0"
    assert INTERFACES.name_for("fe80::aa%eth0") == "eth0"
    assert bind_label("fe80::1%eth7", INTERFACES) == "eth7"
    assert exposure_of("::ffff:127.0.0.1") == "loopback" and exposure_of("*") == "all"
    assert tw_reusable(2, "::ffff:127.0.0.1") and not tw_reusable(2, "::ffff:192.0.2.7")
    mapped = current_session({"SSH_CONNECTION": "::ffff:198.51.100.7 1 ::FFFF:192.0.2.10 22"})
    assert mapped is not None and mapped.client_address == "198.51.100.7"
    assert mapped.server_address == "192.0.2.10"
    assert address_sort("::ffff:10.0.0.1")[:1] == b"\x06", "a v4-mapped socket sorts as v6"
    assert address_sort("10.0.0.2") == b"\x04\x0a\x00\x00\x02"
    assert address_sort(None) == b"" and address_sort("") == b""


def test_interfaces_are_named_for_any_spelling_of_their_address() -> None:
    """Before, only interface naming compared raw text: these were 'not local'."""
    assert INTERFACES.name_for("2001:DB8::10") == "eth0"
    assert INTERFACES.name_for("::FFFF:127.0.0.1") == "lo"
    assert INTERFACES.name_for("::ffff:7f00:1") == "lo"
    assert bind_label("2001:db8:0::10", INTERFACES) == "eth0"


def test_any_spelling_of_the_wildcard_is_all_interfaces() -> None:
    assert exposure_of("0:0::0") == "all"
    assert exposure_of("::ffff:0.0.0.0") == "all"


@pytest.mark.parametrize("text", ["not-an-ip", "[::1]", "", "10.0.0.010", "a\x00b", "٦٠٦٣٠"])
def test_text_that_is_no_ip_is_never_an_error(text: str) -> None:
    """TIME_WAIT reuse raised ValueError on these; every caller now treats them as no IP."""
    assert parse_ip(text) is None and plain_ip(text) is None
    assert tw_reusable(2, text) is False
    assert exposure_of(text) == "interface"
    assert address_sort(text) == (b"\xff" + text.encode() if text else b"")


def test_none_names_no_ip() -> None:
    assert parse_ip(None) is None and plain_ip(None) is None


def test_the_scope_is_split_off_once() -> None:
    assert unscoped("fe80::1%eth0") == "fe80::1" and scope_of("fe80::1%eth0") == "eth0"
    assert unscoped("127.0.0.1") == "127.0.0.1" and scope_of("127.0.0.1") is None
