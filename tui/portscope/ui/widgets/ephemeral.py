"""The Ephemeral pane: connections on borrowed local ports, coming and going.

New rows are highlighted for a few seconds and vanished rows linger dimmed before
they go, as TCPView does; `a` widens the pane to every connection.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from portscope.model import Snapshot, Socket
from portscope.ui.rows import AGE_COLUMN, EPHEMERAL_COLUMNS, RowContext, ephemeral_row
from portscope.ui.widgets.socket_pane import SocketPane
from portscope.ui.widgets.socket_table import NEW_FOR, Clock
from portscope.ui.widgets.table_model import Row

GONE_FOR = 4.0
"""Seconds a vanished connection stays on screen, dimmed."""


class EphemeralPane(SocketPane):
    TITLE = "Ephemeral"
    COLUMNS = EPHEMERAL_COLUMNS
    SORT_COLUMN = AGE_COLUMN
    EMPTY = "no connections on ephemeral ports"

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(clock, id=id)
        self.show_all = False
        self.first_seen: dict[Hashable, float] = {}
        self._fresh: set[Hashable] = set()
        self._gone: set[Hashable] = set()
        self._started = False

    @property
    def lingering(self) -> bool:
        """Whether anything on screen still changes with the clock alone (besides ages)."""
        return bool(self._fresh or self._gone)

    def wants(self, sock: Socket, snapshot: Snapshot) -> bool:
        if sock.is_listener:
            return False
        return self.show_all or snapshot.is_ephemeral(sock)

    def build_row(self, sock: Socket, ctx: RowContext) -> Row:
        key = sock.key
        self._gone.discard(key)
        seen = self.first_seen.get(key)
        if seen is None:
            seen = self.first_seen[key] = self.clock()
            if self._started:
                self._fresh.add(key)
        return ephemeral_row(sock, ctx, seen, new=key in self._fresh)

    def rebuild(self) -> None:
        self._gone.clear()
        super().rebuild()
        rows = self.table.model.rows
        self.first_seen = {k: v for k, v in self.first_seen.items() if k in rows}
        self._fresh &= rows.keys()
        self._started = True

    def apply_changes(self, upserts: list[Row], removals: Iterable[Hashable]) -> None:
        """Removed rows are not dropped yet: they are marked gone and dimmed."""
        now = self.clock()
        rows = self.table.model.rows
        for key in removals:
            row = rows.get(key)
            if row is not None and key not in self._gone:
                row.gone_at = now
                self._gone.add(key)
        self.table.update_rows(upserts)

    def set_show_all(self, show_all: bool) -> None:
        self.show_all = show_all
        self.heading = "Connections" if show_all else self.TITLE
        self.rebuild()

    def expire(self) -> None:
        """Drop rows gone long enough, end highlights that ran out, repaint the ages."""
        now = self.clock()
        rows = self.table.model.rows
        for key in [k for k in self._fresh if now - rows[k].first_seen >= NEW_FOR]:
            rows[key].new = False
            self._fresh.discard(key)
        expired = [k for k in self._gone if now - (rows[k].gone_at or now) >= GONE_FOR]
        if expired:
            for key in expired:
                self._gone.discard(key)
                self._fresh.discard(key)
                self.first_seen.pop(key, None)
            self.table.update_rows(removals=expired)
            self.update_title()
        self.table.refresh_rows()
