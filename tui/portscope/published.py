"""Published container ports matched to the sockets of one poll.

Publishing `-p 127.0.0.1:18082:8082` makes the runtime hold the host port with a
helper of its own (podman's conmon, Docker's docker-proxy, rootless Podman's
rootlessport) while NAT rules forward connections into the container's namespace,
where its process listens on 8082. Read alone, the host socket blames the helper;
joined with the runtime's port mappings it reads as what it is, `127.0.0.1:18082 →
web2:8082 (python3)`, and the container's listener says where the host reaches it.
A binding with no host listener (Docker with its userland proxy off: NAT rules only)
is still a publication, with no holder.
"""

from __future__ import annotations

from collections.abc import Iterable

from portscope.addresses import plain_address
from portscope.model import PortBinding, Publication, Socket

HOLDERS = frozenset(
    {"conmon", "docker-proxy", "rootlessport", "rootlessport-child", "rootlesskit", "pasta",
     "pasta.avx2", "slirp4netns"}
)  # fmt: skip
"""Process names of the runtimes' port-holding helpers (when the cgroup does not say)."""
EVERY_ADDRESS = frozenset({"", "0.0.0.0", "::", "*"})


def is_holder(sock: Socket) -> bool:
    """Whether a host listener's process is a runtime's helper, not a service: placed
    as one by its cgroup, or named like one and in no container."""
    owner = sock.owner
    if owner is None:
        return False
    placement = owner.placement
    if placement is not None and placement.helper is not None:
        return True
    return owner.container is None and owner.name in HOLDERS


def same_address(bound: str, published: str) -> bool:
    """A listener's address is the binding's: equal, or both "every address" (of
    either family: Docker lists 0.0.0.0 and :: as two bindings of one port)."""
    bound, published = plain_address(bound), plain_address(published)
    if published in EVERY_ADDRESS:
        return bound in EVERY_ADDRESS
    return bound == published


def serves(sock: Socket, binding: PortBinding) -> bool:
    """A listener of the binding's container on its container port."""
    owner = sock.owner
    container = owner.container if owner else None
    return (
        container is not None
        and container.id == binding.container.id
        and sock.proto == binding.proto
        and sock.local_port == binding.container_port
    )


def holds(sock: Socket, binding: PortBinding) -> bool:
    """A host helper's listener on the binding's host address and port."""
    return (
        sock.proto == binding.proto
        and sock.local_port == binding.host_port
        and same_address(sock.local_address, binding.host_address)
        and is_holder(sock)
    )


def publish(
    listeners: Iterable[Socket], bindings: Iterable[PortBinding]
) -> tuple[Publication, ...]:
    """Each binding with the host listener holding it and the container listener
    serving it (either None where this poll has none); by port, so one pass over the
    listeners however many bindings there are."""
    bindings = tuple(bindings)
    if not bindings:
        return ()
    ports = {port for b in bindings for port in (b.host_port, b.container_port)}
    candidates: dict[int, list[Socket]] = {}
    for sock in listeners:
        if sock.local_port in ports:
            candidates.setdefault(sock.local_port, []).append(sock)
    return tuple(
        Publication(
            binding,
            next((s for s in candidates.get(binding.host_port, ()) if holds(s, binding)), None),
            next(
                (s for s in candidates.get(binding.container_port, ()) if serves(s, binding)), None
            ),
        )
        for binding in bindings
    )
