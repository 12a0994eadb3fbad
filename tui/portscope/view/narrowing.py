"""Which network namespace the dashboard's panes are narrowed to next. No textual here."""

from __future__ import annotations

from portscope.model import Snapshot


def next_namespace(snapshot: Snapshot, current: int | None) -> int | None:
    """The namespace after `current` among those with sockets, in the snapshot's order
    (None, every namespace, comes before the first and after the last)."""
    held = [ns.inode for ns in snapshot.namespaces if ns.sockets]
    if current is None:
        return held[0] if held else None
    later = held[held.index(current) + 1 :] if current in held else held
    return later[0] if later else None
