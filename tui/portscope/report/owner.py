"""The process a JSON record names, and the namespace a socket lives in, written the
same way in every document.

Listeners and connections (`snapshot --json`, `lookup --json`), accept queues and
CLOSE_WAIT trends (`check --json`) all carry the owner's three members, null when hidden.
"""

from __future__ import annotations

from typing import Any

from portscope.model import Owner, Snapshot, Socket


def owner_record(owner: Owner | None) -> dict[str, Any]:
    """`pid`, `process` and `user` of the owner; all null for an owner this user cannot see."""
    return {
        "pid": owner.pid if owner else None,
        "process": owner.name if owner else None,
        "user": owner.user if owner else None,
    }


def netns_members(sock: Socket, snapshot: Snapshot | None) -> dict[str, Any]:
    """Where a socket lives: its namespace's name (as `snapshot` names it; `host` or
    `netns:<inode>` without one) and inode (null when not said)."""
    name = snapshot.namespace_name(sock.netns) if snapshot else Snapshot.unnamed(sock.netns)
    return {"netns": name, "netns_inode": sock.netns or None}
