"""The Listening pane: every listener, how exposed it is, and how many peers it has."""

from __future__ import annotations

from collections.abc import Mapping

from portscope.model import Snapshot, Socket
from portscope.ui.widgets.socket_pane import SocketPane
from portscope.view.columns import Row
from portscope.view.port_use import PortKey
from portscope.view.rows import LISTENING_COLUMNS, RowContext, listening_row
from portscope.view.showing import Shown


class ListeningPane(SocketPane):
    TITLE = "Listening"
    COLUMNS = LISTENING_COLUMNS
    SORT_COLUMN = "port"
    EMPTY = "no listening sockets"
    FIRST_FRAME = True

    def wants(self, sock: Socket, snapshot: Snapshot) -> bool:
        return sock.is_listener

    def build_row(self, sock: Socket, ctx: RowContext) -> Row:
        return listening_row(sock, ctx)

    def show(self, shown: Shown) -> None:
        """Also refresh listeners whose peer count moved, though the socket itself did not."""
        previous = self.context
        super().show(shown)
        if previous is None:
            return
        ctx, delta = shown.context, shown.delta
        moved = _moved(previous.connections_to, ctx.connections_to)
        if moved:
            touched = {s.key for part in (delta.added, delta.changed, delta.replaced) for s in part}
            self.table.update_rows(
                listening_row(s, ctx)
                for s in ctx.snapshot.listeners
                if (s.proto, s.local_port, s.netns) in moved
                and s.key not in touched
                and self.keeps(s, ctx.snapshot)
            )


def _moved(old: Mapping[PortKey, int], new: Mapping[PortKey, int]) -> set:
    return {k for k in old.keys() | new.keys() if old.get(k, 0) != new.get(k, 0)}
