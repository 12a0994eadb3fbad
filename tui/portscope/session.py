"""Recognise the SSH connection this program runs over, so nobody mistakes it for a stranger.

sshd puts `client_ip client_port server_ip server_port` in $SSH_CONNECTION; the socket
with exactly that 4-tuple (seen from the server side) is the user's own session.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from portscope.addresses import plain_address
from portscope.model import Socket


@dataclass(frozen=True, slots=True)
class SshSession:
    client_address: str
    client_port: int
    server_address: str
    server_port: int

    def is_connection(self, sock: Socket) -> bool:
        """The server-side socket of this very session."""
        return (
            sock.local_port == self.server_port
            and sock.remote_port == self.client_port
            and sock.remote_address is not None
            and plain_address(sock.remote_address) == self.client_address
            and plain_address(sock.local_address) == self.server_address
        )

    def is_listener(self, sock: Socket) -> bool:
        """The sshd listener that accepted this session."""
        return sock.is_listener and sock.proto == "tcp" and sock.local_port == self.server_port


def current_session(environ: Mapping[str, str] | None = None) -> SshSession | None:
    """The session from $SSH_CONNECTION, or None when absent or malformed."""
    value = (os.environ if environ is None else environ).get("SSH_CONNECTION", "")
    parts = value.split()
    if len(parts) != 4 or not parts[1].isdigit() or not parts[3].isdigit():
        return None
    return SshSession(
        plain_address(parts[0]), int(parts[1]), plain_address(parts[2]), int(parts[3])
    )
