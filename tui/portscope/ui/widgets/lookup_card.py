"""The lookup card as the dashboard shows it: the card model (view/card.py) as `Content`.

Only layout lives here: each section's label on a line of its own, its lines indented
under it, and the model's style names mapped to theme variables. The text is the
model's, already printable, and goes in as plain strings (never markup), so registry
text and process names stay inert.
"""

from __future__ import annotations

from textual.content import Content

from portscope.history.records import PortHistories
from portscope.knowledge import LookupResult
from portscope.sanitise import printable
from portscope.view.card import Card, CardOptions, Line, Section, SpanStyle, lookup_cards

STYLES: dict[SpanStyle, str] = {
    "heading": "bold $text-accent",
    "value": "",
    "warning": "$text-warning",
    "dim": "dim",
}
FIELD = "bold"
DIM = STYLES["dim"]
INDENT = "\u00a0\u00a0"
"""No-break spaces: the card wraps, and wrapping drops ordinary leading spaces."""
SPAN_LIMIT = 300
"""Characters of one span shown; the rest of a 10,000-character name would fill the pane."""
PANE_CARD = CardOptions(
    unchecked="waiting for the first poll",
    shown_sockets=8,
    more_sockets="… and {} more",
    prompt="$ ",
)


def line_content(line: Line, indent: str = "") -> Content:
    """One line of the card, its indent styled as its first span."""
    parts = [(printable(span.text, SPAN_LIMIT), STYLES[span.style]) for span in line]
    first_text, first_style = parts[0]
    return Content.assemble((indent + first_text, first_style), *parts[1:])


def section_lines(section: Section) -> list[Content]:
    return [
        Content.styled(section.heading, FIELD),
        *(line_content(line, INDENT) for line in section.lines),
    ]


def card_content(card: Card) -> Content:
    lines = [line_content(card.title)]
    for section in card.sections:
        lines += section_lines(section)
    return Content("\n").join(lines)


def result_card(result: LookupResult, history: PortHistories | None = None) -> Content:
    cards = [card_content(card) for card in lookup_cards(result, PANE_CARD, history)]
    if not cards:
        return Content.styled(f"nothing matches {printable(result.query, 60)!r}", DIM)
    body = Content("\n\n").join(cards)
    if result.total > len(result.reports):
        more = f"\n\nshowing {len(result.reports)} of {result.total}; narrow the query"
        body = body + Content.styled(more, DIM)
    return body
