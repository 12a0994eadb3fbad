"""The bundled registry, the /etc/services overlay, the notes file and the generator."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import pytest

from portscope.knowledge.notes import NotesFormatError, parse_notes
from portscope.knowledge.records import IANA, SYSTEM
from portscope.knowledge.registry import (
    IANA_FILE,
    NOTES_FILE,
    Registry,
    default_registry,
    load_registry,
)
from portscope.knowledge.services_file import parse_line, parse_services

TOOLS = Path(__file__).resolve().parent.parent / "tools"
NOTED_PORTS = (
    60630, 62078, 3000, 5000, 5173, 8000, 8080, 8888, 1900, 5353, 2375, 2376, 6443, 10250,
    6379, 11211, 27017, 9200, 5432, 3306, 51820, 25565,
)  # fmt: skip


def iana_names(port: int) -> list[str]:
    return [e.name for e in default_registry().services(port) if e.source == IANA]


@pytest.mark.parametrize(
    ("port", "name"),
    [(22, "ssh"), (25, "smtp"), (53, "domain"), (80, "http"), (443, "https"),
     (5353, "mdns"), (6379, "redis"), (5432, "postgresql"), (3306, "mysql"),
     (2375, "docker"), (8080, "http-alt")],
)  # fmt: skip
def test_well_known_ports_carry_their_iana_names(port: int, name: str) -> None:
    assert iana_names(port)[0] == name


def test_a_range_assignment_matches_inside_and_not_outside() -> None:
    registry = default_registry()
    for port in (6000, 6010, 6063):
        x11 = [e for e in registry.services(port) if e.name == "x11"]
        assert x11 and x11[0].span == (6000, 6063) and x11[0].source == IANA
    assert "x11" not in iana_names(5999)
    assert "x11" not in iana_names(6064)


def test_unassigned_ports_have_no_iana_entry() -> None:
    assert iana_names(60630) == []
    assert iana_names(4) == []


def test_the_data_file_has_no_duplicate_rows_and_names_its_source() -> None:
    data = json.loads(IANA_FILE.read_text(encoding="utf-8"))
    provenance = data["provenance"]
    for key in ("source", "version", "released", "file_date", "sha256"):
        assert provenance[key], key
    assert "libwireshark-data" in provenance["source"]
    for port, rows in data["ports"].items():
        assert 0 <= int(port) <= 65535
        assert len({json.dumps(r) for r in rows}) == len(rows), port
        for name, protocols, _description, *span in rows:
            assert name and set(protocols.split("/")) <= {"tcp", "udp", "sctp", "dccp"}
            assert not span or span[0] <= int(port) <= span[1]
    assert provenance["assignments"] > 6000


def test_every_entry_and_note_has_a_source() -> None:
    registry = default_registry()
    for port in registry.known_ports:
        assert all(e.source in (IANA, SYSTEM) for e in registry.services(port))
        assert all(n.source and n.text for n in registry.notes(port))


def test_the_notes_cover_the_ports_people_meet() -> None:
    registry = default_registry()
    lines = list(parse_notes(NOTES_FILE.read_text(encoding="utf-8")))
    assert len({(n.low, n.high) for n in lines}) >= 40
    for port in NOTED_PORTS:
        assert registry.notes(port), port
    texts = " ".join(n.text for n in registry.notes(60630))
    assert "Xsan" in texts and "IP cameras" in texts
    assert any("lockdownd" in n.text for n in registry.notes(62078))
    assert registry.notes(31000), "a note on a span applies inside it"


def test_a_malformed_notes_line_is_refused() -> None:
    with pytest.raises(NotesFormatError):
        list(parse_notes("8080 | no fact here\n"))
    with pytest.raises(NotesFormatError):
        list(parse_notes("70000 | source | fact\n"))


def test_services_lines_are_parsed_defensively() -> None:
    assert parse_line("# comment") is None
    assert parse_line("") is None
    assert parse_line("junk") is None
    assert parse_line("bad 99999/tcp") is None
    assert parse_line("bad 80/ddp") is None
    assert parse_line("bad 90-80/tcp") is None
    assert parse_line("bad 0x50/tcp") is None
    line = parse_line("www\t80/tcp/udp  http web  # World Wide Web")
    assert line is not None
    assert (line.name, line.low, line.protocols) == ("www", 80, ("tcp", "udp"))
    assert line.aliases == ("http", "web") and line.description == "World Wide Web"
    assert parse_line("x11  6000-6063/tcp") is not None


LOCAL_SERVICES = """\
# a local services file with the usual mess
ssh        22/tcp                 # same name as IANA: not shown twice
myapp      60630/tcp   myapp-alt  # our in-house service
myapp      60630/udp   myapp-alt
x          ?/tcp
           /udp
\x1b[31m   abc
"""


def test_the_system_overlay_fills_gaps_and_shows_local_names(tmp_path: Path) -> None:
    services = tmp_path / "services"
    services.write_text(LOCAL_SERVICES, encoding="utf-8")
    registry = load_registry(services)
    assert [e.source for e in registry.services(22)] == [IANA]
    (local,) = registry.services(60630)
    assert (local.name, local.source, local.protocols) == ("myapp", SYSTEM, ("tcp", "udp"))
    assert "myapp-alt" in local.description and "in-house" in local.description
    assert registry.service_name(60630, "udp") == "myapp"
    assert (60630, "myapp-alt") in registry.names


def test_a_missing_system_file_is_no_error(tmp_path: Path) -> None:
    registry = load_registry(tmp_path / "absent")
    assert registry.service_name(22) == "ssh"


def test_the_real_etc_services_parses() -> None:
    if not os.path.exists("/etc/services"):
        pytest.skip("no /etc/services here")
    text = Path("/etc/services").read_text(encoding="utf-8", errors="replace")
    assert any(line.name == "ssh" for line in parse_services(text))


CHANGELOG = """\
wireshark (9.9.9-1) unstable; urgency=medium

  * Test entry.

 -- Someone <someone@example.org>  Sun, 03 May 2026 17:17:57 +0200
"""


def test_the_generator_turns_a_services_file_into_loadable_data(tmp_path: Path) -> None:
    sys.path.insert(0, str(TOOLS))
    try:
        import make_registry
    finally:
        sys.path.remove(str(TOOLS))
    root = tmp_path / "pkg"
    (root / make_registry.SERVICES).parent.mkdir(parents=True)
    (root / make_registry.SERVICES).write_text(
        "# header\nssh\t22/tcp/udp\t# Secure Shell\nx11\t6000-6003/tcp\t# X\n"
        "ssh\t22/tcp/udp\t# Secure Shell\n",
        encoding="utf-8",
    )
    (root / make_registry.CHANGELOG).parent.mkdir(parents=True)
    (root / make_registry.CHANGELOG).write_bytes(gzip.compress(CHANGELOG.encode()))
    data = json.loads(make_registry.build(root))
    assert data["provenance"]["version"] == "9.9.9-1"
    assert data["provenance"]["released"] == "2026-05-03"
    assert data["provenance"]["assignments"] == 2
    registry = Registry(data, "", "")
    assert registry.service_name(22, "udp") == "ssh"
    assert registry.services(6002)[0].span == (6000, 6003)
    assert registry.services(6004) == ()


def test_bytes_that_are_not_utf8_in_the_system_file_show_as_escapes(tmp_path: Path) -> None:
    """The one representation every output uses, not U+FFFD."""
    services = tmp_path / "services"
    services.write_bytes(b"caf\xe9       60631/tcp   # d\xe9j\xe0 vu\n")
    (local,) = load_registry(services).services(60631)
    assert local.name == "caf\\xe9" and local.description.endswith(": d\\xe9j\\xe0 vu")
