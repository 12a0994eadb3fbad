"""The Ephemeral pane: connections on borrowed local ports, coming and going.

New rows are highlighted for a few seconds and vanished rows linger dimmed before
they go, as TCPView does; `a` widens the pane to every connection.

Its rx/s and tx/s columns follow the traffic reports (`ui.live`): each report rebuilds
only the rows whose traffic it changed, those of the connections that moved and those
not yet steady (`RowTraffic.steady`), so 20,000 idle rows cost a report nothing. It
needs traffic collected while those columns are drawn on the screen in front.
"""

from __future__ import annotations

import math
from collections.abc import Container, Hashable, Iterable, Iterator

from textual.screen import Screen
from textual.timer import Timer

from portscope.analysis import TrafficReport
from portscope.model import Snapshot, Socket
from portscope.ui.live import Live
from portscope.ui.widgets.socket_pane import SocketPane
from portscope.ui.widgets.socket_table import NEW_FOR, Clock
from portscope.view.columns import Row
from portscope.view.rows import EPHEMERAL_COLUMNS, RowContext, ephemeral_row
from portscope.view.showing import Shown
from portscope.view.socket_cells import RECEIVED, SENT, SocketFacts
from portscope.view.traffic_cells import RowTraffic, row_traffic

GONE_FOR = 4.0
"""Seconds a vanished connection stays on screen, dimmed."""
TICK = 1.0
"""Seconds between repaints of the ages, highlights and lingering rows."""


class Timers:
    """Keys with the time each one started, oldest first, so the ones due are found
    from the front: at 200 conn/s a few thousand rows are new or gone at any time, and
    checking every one of them every second showed in the profile.

    A clock that steps back breaks the order; until the keys added since have all
    gone, every key is checked.
    """

    def __init__(self) -> None:
        self._since: dict[Hashable, float] = {}
        self._latest = -math.inf
        self._ordered = True

    def __contains__(self, key: Hashable) -> bool:
        return key in self._since

    def __len__(self) -> int:
        return len(self._since)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._since)

    def started(self, key: Hashable) -> float | None:
        return self._since.get(key)

    def add(self, key: Hashable, since: float) -> None:
        self._since.pop(key, None)
        self._since[key] = since
        self._ordered = self._ordered and since >= self._latest
        self._latest = max(self._latest, since)

    def discard(self, key: Hashable) -> None:
        self._since.pop(key, None)

    def keep_only(self, keys: Container[Hashable]) -> None:
        self._since = {k: t for k, t in self._since.items() if k in keys}

    def pop_due(self, now: float, after: float) -> list[Hashable]:
        """Take out and return the keys started at least `after` seconds before `now`."""
        since = self._since
        if self._ordered:
            due = []
            for key, started in since.items():
                if now - started < after:
                    break
                due.append(key)
        else:
            due = [key for key, started in since.items() if now - started >= after]
        for key in due:
            del since[key]
        if not since:
            self._latest, self._ordered = -math.inf, True
        return due


def in_front(screen: Screen) -> bool:
    """Whether `screen` is the one in front, or seen behind the dialogs in front of it
    (`Screen.is_current` also says so of a full screen's background)."""
    for above in reversed(screen.app.screen_stack):
        if above is screen:
            return True
        if not above.is_modal:
            return False
    return False


class EphemeralPane(SocketPane):
    TITLE = "Ephemeral"
    COLUMNS = EPHEMERAL_COLUMNS
    SORT_COLUMN = "age"
    EMPTY = "no connections on ephemeral ports"

    def __init__(self, clock: Clock, *, id: str | None = None) -> None:
        super().__init__(clock, id=id)
        self.show_all = False
        self._fresh = Timers()
        self._gone = Timers()
        self._ticks: Timer | None = None
        self.traffic: TrafficReport | None = None
        self._unsteady: set[Hashable] = set()
        """Keys of rows whose traffic a report may change though they moved nothing."""

    def on_mount(self) -> None:
        self._ticks = self.set_interval(TICK, self.expire)
        live = Live.of(self)
        live.on_traffic(self, self.show_traffic)
        live.need_traffic(self, self.rates_drawn)

    def on_resize(self) -> None:
        Live.of(self).traffic_needs_changed()

    def rates_drawn(self) -> bool:
        """Whether the rx/s or tx/s column is drawn, on the screen in front (or behind
        a dialog: help, a confirmation)."""
        drawn = self.table.visible_columns
        return in_front(self.screen) and (RECEIVED.id in drawn or SENT.id in drawn)

    def show_traffic(self, report: TrafficReport) -> None:
        """Bring the rows whose traffic `report` changes up to it. A row whose flags
        stay (so do its marker and colour) in a table neither filtered nor sorted by a
        rate only has its cells worded again, in place: no row built, none placed. A
        report without counters after one without changes nothing."""
        before, self.traffic = self.traffic, report
        ctx = self.context
        uncounted = before is None or before.unavailable is not None
        if ctx is None or (report.unavailable is not None and uncounted):
            return
        taken_at = report.taken_at
        keys = self._unsteady | {
            series.socket.key for series in report.series.values() if series.moved_at == taken_at
        }
        model = self.table.model
        in_place = not model.filtered and model.sort_column not in (RECEIVED.id, SENT.id)
        rows, unsteady = model.rows, self._unsteady
        upserts, reworded = [], False
        for key in keys:
            row = rows.get(key)
            facts = row.subject if row is not None else None
            if row is None or row.gone_at is not None or not isinstance(facts, SocketFacts):
                unsteady.discard(key)
                continue
            traffic = row_traffic(facts.sock, report)
            if traffic == facts.traffic:
                continue
            if in_place and traffic.flags == facts.traffic.flags:
                facts.traffic = traffic
                row.reword()
                reworded = True
                self._follow(key, traffic)
            else:
                upserts.append(self.build_row(facts.sock, ctx))
        self.table.update_rows(upserts)
        if reworded:
            self.table.refresh_rows()

    def show(self, shown: Shown) -> None:
        """Each poll repaints the clock's part too and restarts its timer, so polling
        every second repaints once a second, not twice."""
        super().show(shown)
        self.expire()
        if self._ticks is not None:
            self._ticks.reset()

    def wants(self, sock: Socket, snapshot: Snapshot) -> bool:
        if sock.is_listener:
            return False
        return self.show_all or snapshot.is_ephemeral(sock)

    def build_row(self, sock: Socket, ctx: RowContext) -> Row:
        """The row, aged from when the dashboard first saw the socket (`Arrivals`), not
        from when this pane first showed it."""
        key = sock.key
        self._gone.discard(key)
        arrivals = ctx.arrivals
        seen = arrivals.first_seen(key)
        fresh = arrivals.arrived(key) and self.clock() - seen < NEW_FOR
        if fresh and self._fresh.started(key) != seen:
            self._fresh.add(key, seen)
        traffic = row_traffic(sock, self.traffic)
        self._follow(key, traffic)
        return ephemeral_row(sock, ctx, seen, new=key in self._fresh, traffic=traffic)

    def _follow(self, key: Hashable, traffic: RowTraffic) -> None:
        """Have the next reports look at this row again until its traffic is steady: a
        row that went from idle to moving must be seen to go idle again, though the
        connection that stops moving is in no later report's moved series."""
        if traffic.steady:
            self._unsteady.discard(key)
        else:
            self._unsteady.add(key)

    def rebuild(self) -> None:
        self._gone = Timers()
        self._unsteady = set()
        super().rebuild()
        self._fresh.keep_only(self.table.model.rows)

    def apply_changes(self, upserts: list[Row], removals: Iterable[Hashable]) -> None:
        """Removed rows are not dropped yet: they are marked gone and dimmed. Rows gone
        long enough go in the same update (one pass over the table, not two)."""
        now = self.clock()
        rows = self.table.model.rows
        for key in removals:
            row = rows.get(key)
            if row is not None and key not in self._gone:
                row.gone_at = now
                self._gone.add(key, now)
        self.table.update_rows(upserts, self._due(now))

    def closed_rows(self) -> tuple[int, int]:
        """The rows lingering dimmed: shown (through the filter), and held."""
        held = len(self._gone)
        model = self.table.model
        if not model.filtered:
            return held, held
        return sum(1 for key in self._gone if model.shows(key)), held

    def set_show_all(self, show_all: bool) -> None:
        self.show_all = show_all
        self.heading = "Connections" if show_all else self.TITLE
        self.rebuild()

    def expire(self) -> None:
        """Drop rows gone long enough, end highlights that ran out, repaint the ages."""
        expired = self._due(self.clock())
        if expired:
            self.table.update_rows(removals=expired)
            self.update_title()
        self.table.refresh_rows()

    def _due(self, now: float) -> list[Hashable]:
        """End the highlights that ran out; the keys of rows gone long enough to drop."""
        rows = self.table.model.rows
        for key in self._fresh.pop_due(now, NEW_FOR):
            rows[key].new = False
        expired = self._gone.pop_due(now, GONE_FOR)
        for key in expired:
            self._fresh.discard(key)
        return expired
