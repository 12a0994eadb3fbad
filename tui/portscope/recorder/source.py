"""Where the dashboard's History view and lookup pane read history from: the recorder's
database when there is one, else what this dashboard session's own polls saw end.

Every call opens the database afresh (a millisecond: BENCHMARKS.md, "The recorder"), so
a recorder started or stopped while the dashboard runs is picked up, and blocks on the
disk: call it from a worker thread, never the event loop. A database that is there but
cannot be used (corrupt, of a newer schema, another user's) is not an error of the
dashboard: the answer comes from the session, with one line that says why.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from portscope.history.database import read_failure
from portscope.history.paths import HistoryMissing, HistoryRefused
from portscope.history.query import HistoryReader
from portscope.history.records import DAY, HistoryFilter, HistoryPage, PortHistories
from portscope.recorder.session import NOTE, SessionHistory


@dataclass(frozen=True, slots=True)
class SourcedPage:
    """A page of history and where it came from."""

    page: HistoryPage
    source: str
    """`the recorder's database /var/lib/portscope/history.db`, or this session's polls."""
    problem: str | None = None
    """Why the database was not used although it is there (shown as a warning)."""


class HistorySource:
    """The database at `db` if it opens, else `session` (see the module)."""

    def __init__(self, db: Path, session: SessionHistory) -> None:
        self.db = db
        self.session = session

    def _session_source(self, exc: HistoryRefused) -> tuple[str, str | None]:
        """(the source, why not the database: None when there is none)."""
        if isinstance(exc, HistoryMissing):
            return f"{NOTE} (no recorder's database at {self.db})", None
        return NOTE, f"{exc}; showing {NOTE} instead"

    def recent(self, wanted: HistoryFilter, limit: int) -> SourcedPage:
        try:
            reader = HistoryReader.open(self.db)
        except HistoryRefused as exc:
            source, problem = self._session_source(exc)
            return SourcedPage(self.session.recent(wanted, limit), source, problem)
        try:
            page = reader.recent(wanted, limit)
        except sqlite3.Error as exc:
            problem = f"{read_failure(self.db, exc)}; showing {NOTE} instead"
            return SourcedPage(self.session.recent(wanted, limit), NOTE, problem)
        finally:
            reader.close()
        return SourcedPage(page, f"the recorder's database {self.db}")

    def port_histories(
        self, ports: Iterable[int], window: float = DAY, now: float | None = None
    ) -> PortHistories:
        """The lookup card's History for each port, as `query.port_histories` answers it
        from the database, or from the session with a line naming it as the source."""
        now = time.time() if now is None else now
        wanted = list(ports)
        try:
            reader = HistoryReader.open(self.db)
        except HistoryMissing:
            return self._from_session(wanted, window, now, f"from {NOTE} (no recorder's database)")
        except HistoryRefused as exc:
            return self._from_session(wanted, window, now, f"{exc}; from {NOTE} instead")
        try:
            return PortHistories({port: reader.last_use(port, window, now) for port in wanted})
        except sqlite3.Error as exc:
            return self._from_session(wanted, window, now, f"{read_failure(self.db, exc)}; "
                                      f"from {NOTE} instead")  # fmt: skip
        finally:
            reader.close()

    def _from_session(
        self, ports: list[int], window: float, now: float, source: str
    ) -> PortHistories:
        found = {port: self.session.last_use(port, window, now) for port in ports}
        return PortHistories(found, source=source)
