"""Baselines: the set of listeners a machine should have, saved, read and compared.

`portscope baseline save` writes the listeners of one poll of every network namespace
(`ListenerId`s: proto, family, bind address, port, process, namespace) with their
exposure and container or unit; `portscope diff` and
`portscope check --baseline` compare a later poll with it. A listener is new when
nothing in the baseline matches it and missing when nothing now matches a baseline
entry (a process not known on one side matches any, see `ListenerId.matches`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from portscope.files import read_small_file
from portscope.history.listeners import HOST, ListenerId, listener_id
from portscope.history.paths import DB_NAME, default_db
from portscope.history.records import ListenerEvent
from portscope.model import Snapshot

SCHEMA = "portscope.baseline/2"
READABLE = (SCHEMA, "portscope.baseline/1")
"""/1 named no namespace: it was taken in the host's (`listeners.HOST`)."""
BASELINE_NAME = "baseline.json"
MAX_BYTES = 4 << 20
"""A baseline is a list of listeners: a file larger than this is not one."""


class BaselineRefused(Exception):
    """The file is no baseline portscope can read; str() says why in one line."""


@dataclass(frozen=True, slots=True)
class Baseline:
    saved_at: float
    host: str
    listeners: tuple[ListenerId, ...]


@dataclass(frozen=True, slots=True)
class ListenerDiff:
    new: tuple[ListenerId, ...]
    missing: tuple[ListenerId, ...]

    @property
    def empty(self) -> bool:
        return not (self.new or self.missing)


def default_baseline() -> Path:
    """Beside the default history database: /var/lib/portscope/baseline.json for root."""
    db = default_db()
    return db.with_name(BASELINE_NAME) if db.name == DB_NAME else db.parent / BASELINE_NAME


def listeners_of(snapshot: Snapshot) -> tuple[ListenerId, ...]:
    """The snapshot's listeners, each kind once, in order."""
    return tuple(sorted({listener_id(s, snapshot) for s in snapshot.listeners}, key=sort_key))


def sort_key(identity: ListenerId) -> tuple[object, ...]:
    return (identity.netns != HOST, identity.netns, identity.proto, identity.family,
            identity.address, identity.port or 0, identity.process or "")  # fmt: skip


def baseline_of(snapshot: Snapshot) -> Baseline:
    return Baseline(snapshot.taken_at, snapshot.host, listeners_of(snapshot))


def baseline_json(baseline: Baseline) -> str:
    saved = datetime.fromtimestamp(baseline.saved_at, tz=timezone.utc)
    return json.dumps(
        {
            "schema": SCHEMA,
            "saved_at": saved.isoformat(timespec="seconds"),
            "host": baseline.host,
            "listeners": [listener_entry(i) for i in baseline.listeners],
        },
        indent=1,
    )


def listener_entry(identity: ListenerId) -> dict[str, object]:
    return {
        "proto": identity.proto,
        "family": identity.family,
        "address": identity.address,
        "port": identity.port,
        "exposure": identity.exposure,
        "process": identity.process,
        "netns": identity.netns,
        "place": identity.place,
    }


def read_baseline(path: Path) -> Baseline:
    """The baseline in `path`; BaselineRefused for anything that is not one."""
    try:
        raw = read_small_file(path, MAX_BYTES + 1)
    except OSError as exc:
        raise BaselineRefused(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise BaselineRefused(f"{path} is larger than a baseline can be")
    try:
        doc = json.loads(raw.decode("utf-8"))
        if doc.get("schema") not in READABLE:
            raise BaselineRefused(f"{path} is not a {SCHEMA} document")
        listeners = tuple(entry_of(entry) for entry in doc["listeners"])
        saved_at = datetime.fromisoformat(str(doc.get("saved_at"))).timestamp()
        return Baseline(saved_at, str(doc.get("host") or ""), listeners)
    except BaselineRefused:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BaselineRefused(f"{path} is not a readable baseline ({type(exc).__name__})") from None


def entry_of(entry: dict[str, object]) -> ListenerId:
    proto, family, address = entry["proto"], entry["family"], entry["address"]
    port, process = entry.get("port"), entry.get("process")
    netns, exposure, place = entry.get("netns", HOST), entry.get("exposure", ""), entry.get("place")
    if proto not in ("tcp", "udp") or family not in ("ipv4", "ipv6"):
        raise ValueError("proto or family")
    if not isinstance(address, str) or not (port is None or isinstance(port, int)):
        raise ValueError("address or port")
    if not all(value is None or isinstance(value, str) for value in (process, place)):
        raise ValueError("process or place")
    if not (isinstance(netns, str) and isinstance(exposure, str)):
        raise ValueError("netns or exposure")
    return ListenerId(str(proto), str(family), address, port, process, netns, exposure, place)


def compare(baseline: Iterable[ListenerId], now: Iterable[ListenerId]) -> ListenerDiff:
    """What is listening now that the baseline lacks, and what it has that is gone."""
    before, after = tuple(baseline), tuple(now)
    new = tuple(i for i in after if not any(i.matches(b) for b in before))
    missing = tuple(b for b in before if not any(b.matches(i) for i in after))
    return ListenerDiff(new, missing)


@dataclass(frozen=True, slots=True)
class Changes:
    """Listener events of a window, folded per listener: there at its end and not at its
    start (`appeared`), the reverse (`gone`), or neither (`came_and_went`)."""

    appeared: tuple[ListenerEvent, ...]
    gone: tuple[ListenerEvent, ...]
    came_and_went: tuple[tuple[ListenerEvent, ListenerEvent], ...]

    @property
    def empty(self) -> bool:
        return not (self.appeared or self.gone or self.came_and_went)


def fold(events: Iterable[ListenerEvent]) -> Changes:
    """`events` oldest first, folded (see `Changes`). A listener that went and came back
    was there all along."""
    first: dict[tuple[object, ...], ListenerEvent] = {}
    last: dict[tuple[object, ...], ListenerEvent] = {}
    for event in events:
        key = (event.proto, event.family, event.address, event.port,
               event.owner.process if event.owner else None, event.netns_name or HOST)  # fmt: skip
        first.setdefault(key, event)
        last[key] = event
    appeared, gone, both = [], [], []
    for key, start in first.items():
        end = last[key]
        if start.change == "appeared" and end.change == "appeared":
            appeared.append(end)
        elif start.change == "gone" and end.change == "gone":
            gone.append(end)
        elif start.change == "appeared":
            both.append((start, end))
    return Changes(tuple(appeared), tuple(gone), tuple(both))


def save_baseline(path: Path, baseline: Baseline) -> None:
    """Written atomically (a symlink there is replaced, never followed), 0644."""
    from portscope.files import replace_file

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    replace_file(path, baseline_json(baseline) + "\n", mode=0o644)
