"""Properties over every input, not a few examples: safe text and kernel address decoding."""

from __future__ import annotations

import ipaddress
import re

from hypothesis import given
from hypothesis import strategies as st

from portscope.collect.procnet import decode_address
from portscope.sanitise import FORMULA_PREFIXES, csv_cell, printable

DANGER = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))


@given(ANY_TEXT, st.one_of(st.none(), st.integers(min_value=1, max_value=80)))
def test_printable_is_inert_and_bounded(text: str, limit: int | None) -> None:
    shown = printable(text, limit)
    assert DANGER.search(shown) is None
    assert shown.isprintable()
    if limit is not None:
        assert len(shown) <= limit
    if limit is None:
        assert printable(shown) == shown, "escaping twice changes nothing more"


@given(ANY_TEXT)
def test_csv_cell_never_starts_a_formula(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(FORMULA_PREFIXES)
    if text.isprintable() and DANGER.search(text) is None and not text.startswith(FORMULA_PREFIXES):
        assert cell == text


def kernel_hex(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """How /proc/net prints an address: 32-bit words in host (little-endian) order."""
    packed = address.packed
    words = [packed[i : i + 4][::-1] for i in range(0, len(packed), 4)]
    return b"".join(words).hex().upper()


V4_MAPPED = st.ip_addresses(v=4).map(lambda v4: ipaddress.IPv6Address(f"::ffff:{v4}"))


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6), V4_MAPPED))
def test_kernel_addresses_decode_to_plain_ips(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    """The same address, printed as ss prints it (the C library's inet_ntop, which may
    compress differently from Python's ipaddress), v4-mapped ones always dotted."""
    decoded = decode_address(kernel_hex(address))
    assert ipaddress.ip_address(decoded) == address
    assert "[" not in decoded and "%" not in decoded
    if address.version == 4:
        assert decoded == str(address)
    elif address.ipv4_mapped is not None:
        assert decoded == f"::ffff:{address.ipv4_mapped}"
