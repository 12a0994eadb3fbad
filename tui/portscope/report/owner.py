"""The process a JSON record names, written the same way in every document.

Listeners and connections (`snapshot --json`, `lookup --json`), accept queues and
CLOSE_WAIT trends (`check --json`) all carry these three members, null when hidden.
"""

from __future__ import annotations

from typing import Any

from portscope.model import Owner


def owner_record(owner: Owner | None) -> dict[str, Any]:
    """`pid`, `process` and `user` of the owner; all null for an owner this user cannot see."""
    return {
        "pid": owner.pid if owner else None,
        "process": owner.name if owner else None,
        "user": owner.user if owner else None,
    }
