"""The process a JSON record names, and the namespace a socket lives in, written the
same way in every document.

Listeners and connections (`snapshot --json`, `lookup --json`), accept queues and
CLOSE_WAIT trends (`check --json`) all carry these members, null when hidden: the
process, and where it runs (its container, or its systemd unit).
"""

from __future__ import annotations

from typing import Any

from portscope.model import Container, Owner, Snapshot, Socket


def container_record(container: Container | None) -> dict[str, Any] | None:
    """A container as its cgroup and its runtime's API name it; null members where
    they did not say (the name, when the API is absent)."""
    if container is None:
        return None
    return {
        "runtime": container.runtime,
        "id": container.id,
        "name": container.name,
        "image": container.image,
        "pod": container.pod,
        "pod_namespace": container.pod_namespace,
        "pod_uid": container.pod_uid,
        "pod_container": container.pod_container,
    }


def owner_record(owner: Owner | None) -> dict[str, Any]:
    """`pid`, `process`, `user`, `container` and `unit` of the owner; all null for an
    owner this user cannot see."""
    return {
        "pid": owner.pid if owner else None,
        "process": owner.name if owner else None,
        "user": owner.user if owner else None,
        "container": container_record(owner.container) if owner else None,
        "unit": owner.unit if owner else None,
    }


def netns_members(sock: Socket, snapshot: Snapshot | None) -> dict[str, Any]:
    """Where a socket lives: its namespace's name (as `snapshot` names it; `host` or
    `netns:<inode>` without one) and inode (null when not said)."""
    name = snapshot.namespace_name(sock.netns) if snapshot else Snapshot.unnamed(sock.netns)
    return {"netns": name, "netns_inode": sock.netns or None}
