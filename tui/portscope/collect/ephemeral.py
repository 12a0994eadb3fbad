"""The OS's own ephemeral port range, read from wherever this OS keeps it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from portscope.model import EphemeralRange

IANA_DYNAMIC = EphemeralRange(low=49152, high=65535, source="IANA default (RFC 6335)")
COMMAND_TIMEOUT = 2.0


def parse_port_list(text: str) -> frozenset[int]:
    """Parse the kernel's `8080,9000-9010` notation; junk items are ignored."""
    ports: set[int] = set()
    for item in text.replace("\n", ",").split(","):
        low, dash, high = item.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            continue
        first, last = int(low), int(high or low)
        if 0 <= first <= last <= 65535:
            ports.update(range(first, last + 1))
    return frozenset(ports)


def linux_range(proc_sys: Path = Path("/proc/sys/net/ipv4")) -> EphemeralRange | None:
    try:
        low, high = (int(x) for x in (proc_sys / "ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return None
    try:
        reserved = parse_port_list((proc_sys / "ip_local_reserved_ports").read_text())
    except OSError:
        reserved = frozenset()
    return EphemeralRange(
        low=low, high=high, reserved=reserved, source=str(proc_sys / "ip_local_port_range")
    )


def run_fixed(argv: list[str]) -> str | None:
    """Run a fixed argv with a timeout; None when it is missing, fails or hangs."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def macos_range() -> EphemeralRange | None:
    out = run_fixed(["sysctl", "-n", "net.inet.ip.portrange.first", "net.inet.ip.portrange.last"])
    numbers = [int(x) for x in (out or "").split() if x.isdigit()]
    if len(numbers) != 2:
        return None
    return EphemeralRange(
        low=numbers[0], high=numbers[1], source="sysctl net.inet.ip.portrange.first/last"
    )


def windows_range() -> EphemeralRange | None:
    out = run_fixed(["netsh", "int", "ipv4", "show", "dynamicport", "tcp"]) or ""
    numbers = [int(x) for x in re.findall(r":\s*(\d+)", out)]
    if len(numbers) < 2:
        return None
    start, count = numbers[0], numbers[1]
    return EphemeralRange(
        low=start, high=start + count - 1, source="netsh int ipv4 show dynamicport tcp"
    )


def read_ephemeral_range(platform: str = sys.platform) -> EphemeralRange:
    """This OS's range, or IANA's 49152-65535 when the OS will not say."""
    if platform.startswith("linux"):
        found = linux_range()
    elif platform == "darwin":
        found = macos_range()
    elif platform == "win32":
        found = windows_range()
    else:
        found = None
    return found or IANA_DYNAMIC
