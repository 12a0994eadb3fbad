"""The first port an unprivileged process may bind, read from wherever this OS keeps it."""

from __future__ import annotations

import sys
from pathlib import Path

CLASSIC_LIMIT = 1024
UNPRIVILEGED_START = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")


def unprivileged_port_start(platform: str = sys.platform, path: Path = UNPRIVILEGED_START) -> int:
    """Linux's sysctl (default 1024); Windows has no privileged ports; others keep 1024."""
    if platform == "win32":
        return 0
    if platform.startswith("linux"):
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return CLASSIC_LIMIT
    return CLASSIC_LIMIT
