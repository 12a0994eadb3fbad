"""The lookup card is one model (view/card.py), laid out as text by the CLI and as
Textual content by the pane; both show its sections and lines, nothing else."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from demo.server import CURL, _conn, demo_snapshot
from portscope.knowledge import BindVerdict, LookupResult, Note, PortReport, ServiceEntry, lookup
from portscope.model import EphemeralRange, PortRules, Snapshot
from portscope.report.lookup import CLI_CARD, LABEL, to_text
from portscope.ui.widgets.lookup_card import INDENT, PANE_CARD, STYLES, card_content
from portscope.view.card import Card, lookup_cards, port_card

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RULES = PortRules(
    EphemeralRange(32768, 60999, frozenset({60000}), "/proc/sys/net/ipv4/ip_local_port_range"),
    unprivileged_start=1024,
    privileged=False,
    platform="linux",
)
HEADINGS = ["Class", "Ephemeral", "IANA", "Known uses", "Here now", "Can I bind?", "Check"]
EVIL = "[bold red]evil\x1b[31m\u202e" + "x" * 400
LONG = "A " + "long description " * 12
CROWD = tuple(
    _conn("127.0.0.1", 60630, f"10.0.0.{i}", 40000 + i, None if i % 3 else CURL) for i in range(30)
)
CROWDED = PortReport(
    port=4242,
    iana_class="registered",
    ephemeral=False,
    reserved=False,
    services=(
        ServiceEntry("alpha", ("tcp", "udp"), LONG, "iana", (4240, 4250)),
        ServiceEntry("beta", ("tcp",), "", "iana"),
        ServiceEntry(EVIL, ("udp",), "local " + EVIL, "system", (4242, 4243)),
    ),
    notes=(Note("note " * 40, "src"), Note(EVIL, "hostile")),
    in_use=CROWD[:25],
    check_commands=("ss -tulpn 'sport = :4242'", "lsof -i :4242 " + "y" * 120),
    bind=BindVerdict(False, "No: " + "because " * 20, ("r1 " + EVIL, "r2")),
)
EMPTY = replace(
    CROWDED, services=(), notes=(), in_use=(), check_commands=(), bind=BindVerdict(True, "Yes", ())
)


def one_port(report: PortReport, snapshot: Snapshot | None) -> LookupResult:
    return LookupResult("4242", (report,), 7, RULES.ephemeral_range, snapshot=snapshot)


@pytest.mark.parametrize(
    ("fixture", "report", "snapshot"),
    [
        ("lookup_card_crowded.txt", CROWDED, demo_snapshot()),
        ("lookup_card_privileged.txt", CROWDED, demo_snapshot(privileged=True)),
        ("lookup_card_empty_offline.txt", EMPTY, None),
    ],
)
def test_cli_text_is_what_the_two_builders_printed_before(
    fixture: str, report: PortReport, snapshot: Snapshot | None
) -> None:
    """The fixtures are `portscope lookup`'s own output for these reports, written by the
    code that built the card in report/lookup.py before the card model existed: wrapping,
    the 20-socket cap, the hidden-owner hint, escaped hostile text, `-` for nothing."""
    expected = (FIXTURES / fixture).read_text(encoding="utf-8")
    assert to_text(one_port(report, snapshot)) == expected


def test_60630_card_holds_the_iana_class_and_ephemeral_facts() -> None:
    result = lookup("60630", RULES)
    (card,) = lookup_cards(result, CLI_CARD)
    assert [s.heading for s in card.sections] == HEADINGS
    assert card.title[0].text == "Port 60630 - unassigned" and card.title[0].style == "heading"
    assert section_texts(card, "Class") == ["dynamic/private range 49152-65535 (RFC 6335)"]
    assert section_texts(card, "IANA") == ["unassigned"]
    ephemeral = section_texts(card, "Ephemeral")
    assert ephemeral == list(result.reports[0].range_facts)
    assert any("ephemeral range 32768-60999, Linux's default" in f for f in ephemeral)
    known = " ".join(section_texts(card, "Known uses"))
    assert "Xsan" in known and "IP cameras" in known
    assert section_texts(card, "Here now") == ["not checked (--offline)"]
    assert "ss -tulpn 'sport = :60630'" in section_texts(card, "Check")


def test_live_use_and_a_refused_bind_are_marked_in_the_model() -> None:
    snapshot = demo_snapshot()
    (card,) = lookup_cards(lookup("60630", RULES, snapshot), PANE_CARD)
    here = section_texts(card, "Here now")
    assert here[0] == "tcp LISTEN 127.0.0.1:60630  vite (pid 3105, dev)"
    bind = card.section("Can I bind?")
    assert bind is not None
    assert bind.texts[0].startswith("No: port 60630 is taken by tcp 127.0.0.1:60630")
    assert {span.style for line in bind.lines for span in line} == {"warning"}
    assert all(text.startswith("$ ") for text in section_texts(card, "Check"))


def test_the_cap_and_the_wording_are_the_only_differences_between_cli_and_pane() -> None:
    cli = port_card(CROWDED, demo_snapshot(), CLI_CARD)
    pane = port_card(CROWDED, demo_snapshot(), PANE_CARD)
    assert cli.title == pane.title
    for mine, theirs in zip(cli.sections, pane.sections, strict=True):
        assert mine.heading == theirs.heading
        if mine.heading not in ("Here now", "Check"):
            assert mine == theirs
    assert section_texts(pane, "Here now")[8:] == [
        "… and 17 more",
        "(hidden owners belong to other users: run as root to see them)",
    ]
    assert section_texts(cli, "Here now")[20] == "... and 5 more (see --json)"
    assert section_texts(pane, "Check") == ["$ " + c for c in section_texts(cli, "Check")]


@pytest.mark.parametrize("query", ["60630", "22", "6000", "8000-8010", "postgres", "x11"])
def test_the_pane_lays_out_every_line_of_the_model_and_nothing_else(query: str) -> None:
    for card in lookup_cards(lookup(query, RULES, demo_snapshot()), PANE_CARD):
        content = card_content(card)
        expected = [card.title[0].text]
        for section in card.sections:
            expected += [section.heading, *(INDENT + text for text in section.texts)]
        assert content.plain.split("\n") == expected
        styles = {str(span.style) for span in content.spans}
        assert styles <= {*STYLES.values(), "bold"}


@pytest.mark.parametrize("query", ["60630", "22", "6000", "8000-8010", "postgres", "x11"])
def test_the_cli_text_lays_out_every_line_of_the_model_and_nothing_else(query: str) -> None:
    result = lookup(query, RULES, demo_snapshot())
    cards = lookup_cards(result, CLI_CARD)
    texts = to_text(result).split("\n\n")[: len(cards)]
    for card, text in zip(cards, texts, strict=True):
        assert cli_sections(text) == [
            (s.heading, [" ".join(t.split()) for t in s.texts]) for s in card.sections
        ]
        assert text.split("\n")[0] == card.title[0].text


def test_hostile_text_reaches_both_renderings_escaped_and_as_text() -> None:
    card = port_card(CROWDED, demo_snapshot(), PANE_CARD)
    local = section_texts(card, "This system")[0]
    assert local.startswith("[bold red]evil\\x1b[31m\\u202e")
    content = card_content(card)
    assert "\x1b" not in content.plain and "\u202e" not in content.plain
    assert INDENT + local[:299] + "…" in content.plain.split("\n")
    assert "\x1b" not in to_text(one_port(CROWDED, demo_snapshot()))


def section_texts(card: Card, heading: str) -> list[str]:
    section = card.section(heading)
    assert section is not None, heading
    return section.texts


def cli_sections(text: str) -> list[tuple[str, list[str]]]:
    """Read a CLI card back: `  Label        line`, `               next line`, and
    wrapped continuations indented further."""
    sections: list[tuple[str, list[str]]] = []
    for row in text.split("\n")[1:]:
        label, rest = row[2 : 2 + LABEL].strip(), row[2 + LABEL :]
        if label:
            sections.append((label, [rest]))
        elif re.match(r"  ", rest):
            sections[-1][1][-1] += " " + rest.strip()
        else:
            sections[-1][1].append(rest)
    return [(label, [" ".join(t.split()) for t in lines]) for label, lines in sections]
