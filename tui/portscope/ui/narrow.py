"""How text gives way when the terminal is narrow: what matters most is what stays.

Table columns and the header's parts are kept by priority (`by_priority`), and a cell
that ends with a marker (`◀ your ssh`, `✖ queue full`) loses the text before it, never
the marker (`fit_marked`). No textual here.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size

MIN_HEAD = 4
"""Cells of text kept before a marker (`pyt…`) before the marker takes a shorter form."""


def fit(text: str, width: int, align: str = "left") -> str:
    """`text` cut (with an ellipsis) or padded to exactly `width` cells."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    padding = " " * (width - length)
    return padding + text if align == "right" else text + padding


def fit_marked(text: str, forms: Sequence[str], width: int, align: str = "left") -> str:
    """`text`, which ends with the marker `forms[0]`, in exactly `width` cells.

    When it does not fit, the text before the marker is cut; when that would leave
    less than MIN_HEAD cells of it, a shorter form of the marker (`forms[1:]`) is
    tried; when no form leaves room, the shortest form alone, itself cut if need be.
    """
    if cell_len(text) <= width or not forms:
        return fit(text, width, align)
    head = text[: len(text) - len(forms[0])]
    length = cell_len(head)
    for form in forms:
        room = width - cell_len(form)
        if room > 0 and room >= min(MIN_HEAD, length):
            return fit((head if length <= room else fit(head, room)) + form, width, align)
    return fit(forms[-1].lstrip(), width, align)


def by_priority(needs: Sequence[tuple[int, int]], room: int, gap: int = 0) -> list[int]:
    """Indexes of the `(priority, width)` items kept in `room` cells, in their order.

    Highest priority first, each kept if it still fits (with `gap` cells between two
    kept items), so a narrow line drops its least important items, not its last ones.
    """
    by_rank = sorted(range(len(needs)), key=lambda i: -needs[i][0])
    kept: list[int] = []
    used = 0
    for index in by_rank:
        need = needs[index][1] + (gap if kept else 0)
        if used + need <= room:
            kept.append(index)
            used += need
    return sorted(kept)
