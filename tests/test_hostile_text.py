"""Process names and command lines are attacker-controlled: real processes carrying
escapes, markup, bidi overrides, invalid UTF-8, formulas and a 100 kB argument must
come out inert in the table, the CSV and the JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from conftest import run_portscope
from holders import NAMED, holder

HOLDER = f"""{NAMED}
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
os.write(1, b"%d\\n" % sock.getsockname()[1])
time.sleep(60)
"""

LONG_PREFIX = b"AAAAAAAAAAAAAAA"
"""15 bytes: a full kernel comm, so psutil extends the name from argv[0]."""
LONG_ARGV0 = LONG_PREFIX + b"\x1b]0;owned\x07\xe2\x80\xae" + b"B" * 100_000
NAMES = {
    "ansi": b"\x1b[31mEVIL\x1b[0m",
    "markup": b"[bold red]x",
    "rtl": "\u202eexe.txt".encode(),
    "formula": b"=cmd|calc\xff",
    "controls": b"a\rb\nc\x07\x08\x7f",
    "minus": b"-2+3",
    "at": b"@SUM(A1)",
    "long": LONG_PREFIX,
}
RAW_DANGER = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""What must never reach the terminal raw (newline is the only control allowed)."""


@pytest.fixture(scope="module")
def holders() -> Iterator[dict[str, int]]:
    """One real process per hostile name, each holding a loopback listener: label -> port."""
    with ExitStack() as running:
        ports: dict[str, int] = {}
        for label, name in NAMES.items():
            argv0 = LONG_ARGV0 if label == "long" else b"\x1b[2J" + name
            argv = [argv0, b"-c", HOLDER.encode(), name.hex().encode(), b"\xff\xfe" * 50_000]
            ports[label] = running.enter_context(holder(argv))[1]
        yield ports


def render(fmt: str) -> str:
    done = run_portscope("snapshot", *([f"--{fmt}"] if fmt != "table" else []))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_no_raw_control_or_bidi_characters(holders: dict[str, int], fmt: str) -> None:
    out = render(fmt)
    assert RAW_DANGER.findall(out) == []
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in out), "lone surrogates"


def test_json_is_ascii_and_keeps_the_names(holders: dict[str, int]) -> None:
    """The names as they are, but for the byte that is not UTF-8: `\\xff`, as text."""
    out = render("json")
    assert out.isascii()
    by_port = {
        r["port"]: r["process"] for r in json.loads(out)["listening"] if r["address"] == "127.0.0.1"
    }
    assert by_port[holders["ansi"]] == "\x1b[31mEVIL\x1b[0m"
    assert by_port[holders["markup"]] == "[bold red]x"
    assert by_port[holders["rtl"]] == "\u202eexe.txt"
    assert by_port[holders["formula"]] == "=cmd|calc\\xff"
    assert len(by_port[holders["long"]]) > 100_000


def test_table_shows_escapes_and_stays_narrow(holders: dict[str, int]) -> None:
    rows = {
        port: line
        for line in render("table").splitlines()
        for port in holders.values()
        if line.split()[1:3] == ["LISTEN", f"127.0.0.1:{port}"]
    }
    assert "\\x1b[31mEVIL\\x1b[0m" in rows[holders["ansi"]]
    assert "[bold red]x" in rows[holders["markup"]]
    assert "\\u202eexe.txt" in rows[holders["rtl"]]
    assert "=cmd|calc\\xff" in rows[holders["formula"]]
    assert "a\\x0db\\x0ac\\x07\\x08\\x7f" in rows[holders["controls"]]
    assert "AAAAAAAAAAAAAAA\\x1b]0;owned" in rows[holders["long"]]
    assert max(len(row) for row in rows.values()) < 600, "a 100 kB name must not widen rows"


def test_csv_cells_cannot_become_formulas(holders: dict[str, int]) -> None:
    rows = list(csv.DictReader(io.StringIO(render("csv"))))
    by_port = {
        int(r["local_port"]): r["process"]
        for r in rows
        if r["state"] == "LISTEN" and r["local_address"] == "127.0.0.1"
    }
    assert by_port[holders["formula"]] == "'=cmd|calc\\xff"
    assert by_port[holders["minus"]] == "'-2+3"
    assert by_port[holders["at"]] == "'@SUM(A1)"
    assert by_port[holders["markup"]] == "[bold red]x"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
