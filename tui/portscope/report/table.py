"""Aligned plain-text tables for terminal output."""

from __future__ import annotations

from collections.abc import Sequence

from portscope.sanitise import printable

CELL_LIMIT = 64
"""Widest cell: any address with its port and scope fits; a 100 kB process name does not."""


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], cell_limit: int = CELL_LIMIT
) -> str:
    """Columns padded to their widest cell; every cell made printable and cut first."""
    cells = [[printable("" if v is None else str(v), cell_limit) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)
