"""What the history's rows and the lookup card's History line say, as text.

One wording for `portscope history`, the lookup card (CLI and pane) and the
dashboard's History view: the times, lifetimes, byte counts and processes of recorded
connections and listener events. Headless; every text from the system is made
printable where it is shown (`report.table`, the card's `section`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime

from portscope.exposure import exposure_label
from portscope.history.records import (
    ClosedConnection,
    HistoryPage,
    ListenerEvent,
    PortHistory,
    Run,
)
from portscope.model import endpoint, proto_label

COLUMNS = ("TIME", "EVENT", "PROTO", "LOCAL", "REMOTE", "STATE", "FOR", "SENT", "RECV", "PROCESS")
NETNS_TITLE = "NETNS"
NETNS_AT = 3
"""Where the namespace column stands (before LOCAL), when a page spans several."""
UNKNOWN_OWNER = "?"
UNKNOWN_NOTE = (
    "? = it ended before any poll saw it, and the kernel's report of an end names no process"
)
ENDED_WORDS = {"kernel": "closed", "poll": "closed", "unseen": "gone"}


def clock(at: float, now: float | None = None) -> str:
    """03:12:07 today, else 2026-11-27 03:12:07 (local time)."""
    moment = datetime.fromtimestamp(at)
    today = datetime.fromtimestamp(time.time() if now is None else now).date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%Y-%m-%d %H:%M:%S")


def short_clock(at: float, now: float) -> str:
    """03:12:07 today, else 11-27 03:12 (local time): a table's time column."""
    moment = datetime.fromtimestamp(at)
    if moment.date() == datetime.fromtimestamp(now).date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%m-%d %H:%M")


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M:%S")


def seconds_text(value: float) -> str:
    """0.4 s, 12 s, 3.5 min, 2.0 h."""
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def lifetime_text(c: ClosedConnection) -> str:
    """`0.4 s`, `≥ 3.2 s` (a poll saw it open), `< 0.8 s` (only its end was seen)."""
    if c.lifetime is None:
        return "?"
    mark = {"at least": "≥ ", "under": "< "}.get(c.bound or "", "")
    return mark + seconds_text(c.lifetime)


def size_text(count: int | None) -> str:
    if count is None:
        return ""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def owner_text(c: ClosedConnection) -> str:
    """`curl (pid 4121)`, `nginx (pid 812, the listener)`, or `?`."""
    if c.owner is None:
        return UNKNOWN_OWNER
    if c.owner_from == "listener":
        return f"{c.owner.process or '?'} (pid {c.owner.pid}, the listener)"
    return c.owner.label


def remote_text(c: ClosedConnection) -> str:
    """The far end, with the local process there: `127.0.0.1:8080 (python3)`."""
    peer = f" ({c.peer.process or '?'})" if c.peer is not None else ""
    return c.remote + peer


def connection_event(c: ClosedConnection) -> str:
    """`closed`, `closed in` (an accepted one), `gone` (its end unseen)."""
    return ENDED_WORDS[c.ended] + (" in" if c.accepted else "")


def listener_event_word(e: ListenerEvent) -> str:
    """`listen+`, `listen-`, marked ` *` when it changed while nothing recorded."""
    return ("listen+" if e.change == "appeared" else "listen-") + (" *" if e.while_stopped else "")


def listener_owner(e: ListenerEvent) -> str:
    return e.owner.label if e.owner else UNKNOWN_OWNER


def listener_state(e: ListenerEvent) -> str:
    return "LISTEN" if e.proto == "tcp" else ""


def connection_cells(c: ClosedConnection, now: float | None = None) -> tuple[str, ...]:
    return (
        clock(c.closed, now),
        connection_event(c),
        proto_label(c.proto, c.family),
        c.local,
        remote_text(c),
        c.state or "",
        lifetime_text(c),
        size_text(c.sent),
        size_text(c.received),
        owner_text(c),
    )


def listener_where(e: ListenerEvent) -> str:
    if e.port is None:
        return f"[{e.address}]:*" if ":" in e.address else f"{e.address}:*"
    return endpoint(e.address, e.port)


def listener_cells(e: ListenerEvent, now: float | None = None) -> tuple[str, ...]:
    return (
        clock(e.at, now),
        listener_event_word(e),
        proto_label(e.proto, e.family),
        listener_where(e),
        exposure_label(e.exposure),
        listener_state(e),
        "",
        "",
        "",
        listener_owner(e),
    )


def netns_text(item: ClosedConnection | ListenerEvent) -> str:
    """The namespace's name when the record was written ("" before schema 3)."""
    return item.netns_name or ""


def spans_namespaces(items: Iterable[ClosedConnection | ListenerEvent]) -> bool:
    """Whether the records come from more than one network namespace, so each must
    say which (as the panes' netns column, `view.socket_cells.NETNS`)."""
    return len({item.netns_name for item in items}) > 1


def page_table(
    page: HistoryPage, now: float | None = None
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The titles and rows of a page: connections and listener events interleaved,
    newest first, with a NETNS column when they come from more than one namespace."""
    items = (*page.connections, *page.listener_events)
    spread = spans_namespaces(items)
    timed = []
    for item in items:
        if isinstance(item, ClosedConnection):
            at, cells = item.closed, connection_cells(item, now)
        else:
            at, cells = item.at, listener_cells(item, now)
        if spread:
            cells = (*cells[:NETNS_AT], netns_text(item), *cells[NETNS_AT:])
        timed.append((at, cells))
    titles = (*COLUMNS[:NETNS_AT], NETNS_TITLE, *COLUMNS[NETNS_AT:]) if spread else COLUMNS
    return titles, [cells for _at, cells in sorted(timed, key=lambda item: -item[0])]


def coverage_text(runs: Sequence[Run], since: float, until: float) -> list[str]:
    """What the window's recording could see: one line per run that overlaps it."""
    if not runs:
        return ["nothing was recorded in this window (is `portscope record` running?)"]
    lines = []
    for run in runs:
        end = (
            "now"
            if run.stopped is None and until - run.last_write < 60
            else stamp(run.stopped or run.last_write)
        )
        seen = (
            "with the kernel's socket-end events (every connection)"
            if run.kernel_events
            else f"polls only: connections shorter than {run.interval:g} s are missed"
        )
        lost = f"; {run.dropped} records dropped" if run.dropped else ""
        lines.append(f"recorded {stamp(max(run.started, since))} to {end}, every "
                     f"{run.interval:g} s, {seen}{lost}")  # fmt: skip
    return lines


def use_verb(c: ClosedConnection, port: int) -> str:
    if c.local_port == port:
        return "accepted" if c.accepted else "borrowed"
    return "connected to"


def use_line(history: PortHistory, now: float | None = None) -> str:
    """`60630: last borrowed 03:12:07 by curl (pid 4121) → 203.0.113.9:443 for 0.4 s;
    37 times in 24 h`."""
    span = seconds_text(history.window.until - history.window.since).replace(".0 ", " ")
    times = f"{history.count} time{'s' if history.count != 1 else ''} in {span}"
    last = history.last
    if last is None:
        return f"{history.port}: no recorded use; {times}"
    verb = use_verb(last, history.port)
    where = f"from {remote_text(last)}" if last.accepted else f"→ {remote_text(last)}"
    how_long = f" for {lifetime_text(last)}" if last.lifetime is not None else ""
    when = clock(last.closed, now)
    return f"{history.port}: last {verb} {when} by {owner_text(last)} {where}{how_long}; {times}"


def use_notes(history: PortHistory) -> list[str]:
    """What the History line cannot tell: an unknown process, polls-only recording."""
    notes = []
    if history.last is not None and history.last.owner is None:
        notes.append(UNKNOWN_NOTE)
    if not history.runs:
        notes.append("nothing was recorded in the window (is `portscope record` running?)")
    elif not all(run.kernel_events for run in history.runs):
        shortest = max(run.interval for run in history.runs if not run.kernel_events)
        notes.append(f"recorded by polls only: connections shorter than {shortest:g} s are missed")
    return notes
