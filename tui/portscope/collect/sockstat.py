"""Kernel-wide socket counts from /proc/net/sockstat(6), and the tcp_tw_reuse switch.

These cost two small reads per poll and give the kernel's own TIME_WAIT and orphan
totals, which stay right even when the socket table cannot be read.
"""

from __future__ import annotations

from pathlib import Path

from portscope.model import SocketTotals

FIELDS: dict[tuple[str, str], str] = {
    ("TCP", "inuse"): "tcp_in_use",
    ("TCP", "tw"): "tcp_time_wait",
    ("TCP", "orphan"): "tcp_orphaned",
    ("UDP", "inuse"): "udp_in_use",
    ("TCP6", "inuse"): "tcp6_in_use",
    ("UDP6", "inuse"): "udp6_in_use",
}


def parse_sockstat(text: str) -> dict[str, int]:
    """`TCP: inuse 2 orphan 0 tw 5 ...` lines to the SocketTotals fields they feed."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        label, _, rest = line.partition(":")
        words = rest.split()
        for name, value in zip(words[::2], words[1::2], strict=False):
            field = FIELDS.get((label.strip(), name))
            if field is not None and value.isdigit():
                found[field] = int(value)
    return found


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return ""


def read_socket_totals(proc_root: str = "/proc") -> SocketTotals:
    """This network namespace's totals; fields the OS does not provide stay None."""
    root = Path(proc_root)
    counts = parse_sockstat(read_text(root / "net/sockstat") + read_text(root / "net/sockstat6"))
    reuse = read_text(root / "sys/net/ipv4/tcp_tw_reuse").strip()
    return SocketTotals(**counts, tcp_tw_reuse=int(reuse) if reuse.isdigit() else None)
