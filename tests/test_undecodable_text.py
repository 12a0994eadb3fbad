"""Bytes that are not UTF-8 in what a process shows of itself: one representation, `\\xNN`
as text, in every output.

The holder is a real process started through a symlink named `my server 名前`: the kernel
keeps 15 bytes of it as the comm, cutting `前` in two, as it does to any long name. Its
arguments and its working directory hold such bytes too."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from conftest import run_portscope
from demo.scenes import open_process
from holders import CLOSE_WAIT, holder
from portscope.collect import take_snapshot
from ui_support import demo_app, first_frame

LINK_NAME = "my server 名前".encode()
NAME = "my server 名\\xe5\\x89"
"""What every output shows of the comm `my server \\xe5\\x90\\x8d\\xe5\\x89`."""
ARGUMENT = b"cut \xe5\x90\x8d\xe5\x89"
CWD = b"dir \xff"
SURROGATE_ESCAPE = re.compile(r"\\ud[89a-f][0-9a-f]{2}", re.IGNORECASE)
SURROGATE = re.compile("[\ud800-\udfff]")


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """(pid, listener port) of the holder."""
    home = os.fsencode(tmp_path_factory.mktemp("undecodable"))
    link = os.path.join(home, LINK_NAME)
    os.symlink(os.path.realpath(sys.executable), link)
    os.mkdir(os.path.join(home, CWD))
    script = os.path.join(home, CWD, b"hold.py")
    Path(os.fsdecode(script)).write_text(CLOSE_WAIT)
    argv = [link, script, ARGUMENT]
    with holder(argv, executable=link, cwd=os.path.join(home, CWD)) as running:
        yield running


def output(*args: str) -> str:
    done = run_portscope(*args)
    assert done.returncode in (0, 1), done.stderr  # check: 1 is its WARNING
    return done.stdout


def test_the_kernel_cut_the_name_inside_a_character(cut: tuple[int, int]) -> None:
    comm = Path(f"/proc/{cut[0]}/comm").read_bytes().rstrip(b"\n")
    assert comm == b"my server \xe5\x90\x8d\xe5\x89"


@pytest.mark.parametrize("command", [["snapshot", "--json"], ["lookup", "--json"]])
def test_json_is_strict_utf8_with_the_bytes_as_escapes(
    cut: tuple[int, int], command: list[str]
) -> None:
    pid, port = cut
    text = output(*command, *([str(port)] if command[0] == "lookup" else []))
    assert SURROGATE_ESCAPE.search(text) is None
    doc = json.loads(text)
    json.dumps(doc, ensure_ascii=False).encode("utf-8")  # strict: no lone surrogates
    names = [record["process"] for record in records(doc) if record.get("pid") == pid]
    assert names and set(names) == {NAME}


def records(doc: object) -> Iterator[dict]:
    """Every JSON object in `doc`, however deep."""
    if isinstance(doc, dict):
        yield doc
        doc = list(doc.values())
    if isinstance(doc, list):
        for item in doc:
            yield from records(item)


def test_csv_and_table_show_the_same_escapes(cut: tuple[int, int]) -> None:
    pid, port = cut
    rows = list(csv.DictReader(io.StringIO(output("snapshot", "--csv"))))
    mine = [r for r in rows if r["pid"] == str(pid)]
    assert len(mine) == 4 and {r["process"] for r in mine} == {NAME}  # listener, 3 CLOSE_WAIT
    table = output("snapshot").splitlines()
    (line,) = [r for r in table if r.split()[1:3] == ["LISTEN", f"127.0.0.1:{port}"]]
    assert f"{pid}  {NAME}" in line


def test_lookup_card_and_check_line_show_the_same_escapes(cut: tuple[int, int]) -> None:
    pid, port = cut
    assert f"{NAME} (pid {pid}," in output("lookup", str(port))
    check = output("check", "--close-wait-critical", "2", "--netns", "host")
    assert f"WARNING: CLOSE_WAIT held in {NAME} (pid {pid}): 3 (socket leak?)" in check
    assert SURROGATE.search(check) is None


async def test_dashboard_row_and_details_show_the_same_escapes(
    cut: tuple[int, int], tmp_path: Path
) -> None:
    pid, port = cut
    app = demo_app(tmp_path / "config.toml", [take_snapshot()])
    async with app.run_test(size=(160, 40)) as pilot:
        await first_frame(pilot)
        rows = app.listening.table.model.rows.values()
        (row,) = [r for r in rows if r.payload.local_port == port]
        assert NAME in row.cells
        screen = await open_process(pilot, port)
        shown = "\n".join(str(w.render()) for w in screen.query(Static))
        assert SURROGATE.search(shown) is None
        assert f"{NAME} (pid {pid})" in shown
        assert "cut 名\\xe5\\x89" in shown
        assert "dir \\xff" in shown
