"""`portscope diff` output, and the listener lines `check --baseline` reports."""

from __future__ import annotations

import json
from typing import Any

from portscope.exposure import exposure_label
from portscope.history.baseline import Changes, ListenerDiff, listener_entry
from portscope.history.listeners import HOST, ListenerId
from portscope.history.records import ListenerEvent
from portscope.model import proto_label
from portscope.report.history import listener_record
from portscope.sanitise import printable
from portscope.view.history import clock, listener_where

SCHEMA = "portscope.diff/1"


def listener_label(identity: ListenerId) -> str:
    """`tcp 0.0.0.0:8080 python3 (all interfaces)`."""
    exposure = exposure_label(identity.exposure)
    return printable(f"{identity.where} {identity.process or '?'} ({exposure})")


def event_label(event: ListenerEvent) -> str:
    """`tcp 0.0.0.0:8080 in web nginx (container network only)`, as `listener_label`."""
    process = event.owner.process if event.owner and event.owner.process else "?"
    inside = f" in {event.netns_name}" if event.netns_name not in (None, HOST) else ""
    where = f"{proto_label(event.proto, event.family)} {listener_where(event)}{inside}"
    return printable(f"{where} {process} ({exposure_label(event.exposure)})")


def diff_text(diff: ListenerDiff, against: str) -> str:
    if diff.empty:
        return f"no listener changes since {against}"
    lines = [f"+ {listener_label(i)}  new" for i in diff.new]
    lines += [f"- {listener_label(i)}  missing" for i in diff.missing]
    return "\n".join([f"listener changes since {against}:", *lines])


def diff_json(diff: ListenerDiff, against: str) -> str:
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "against": against,
        "new": [listener_entry(i) for i in diff.new],
        "missing": [listener_entry(i) for i in diff.missing],
    }
    return json.dumps(doc, indent=1)


def changes_text(changes: Changes, against: str) -> str:
    if changes.empty:
        return f"no listener changes since {against}"
    lines = [f"+ {event_label(e)}  appeared {clock(e.at)}" for e in changes.appeared]
    lines += [f"- {event_label(e)}  gone {clock(e.at)}" for e in changes.gone]
    lines += [
        f"~ {event_label(start)}  came {clock(start.at)} and went {clock(end.at)}"
        for start, end in changes.came_and_went
    ]
    return "\n".join([f"listener changes since {against}:", *lines])


def changes_json(changes: Changes, against: str) -> str:
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "against": against,
        "appeared": [listener_record(e) for e in changes.appeared],
        "gone": [listener_record(e) for e in changes.gone],
        "came_and_went": [
            {"appeared": listener_record(a), "gone": listener_record(g)}
            for a, g in changes.came_and_went
        ],
    }
    return json.dumps(doc, indent=1)
