"""The OS's own ephemeral port range, read from wherever this OS keeps it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from portscope.model import EphemeralRange
from portscope.sanitise import decoded, os_text

IANA_DYNAMIC = EphemeralRange(low=49152, high=65535, source="IANA default (RFC 6335)")
COMMAND_TIMEOUT = 2.0


def parse_port_list(text: str) -> tuple[frozenset[int], list[str]]:
    """Parse the kernel's `8080,9000-9010` notation: the ports, and the items that are
    not a port or a rising span of ports in 0-65535."""
    ports: set[int] = set()
    junk: list[str] = []
    for item in filter(None, (i.strip() for i in text.replace("\n", ",").split(","))):
        low, dash, high = item.partition("-")
        bounds = (low, high) if dash else (low, low)
        if all(b.isascii() and b.isdigit() for b in bounds) and (
            0 <= int(bounds[0]) <= int(bounds[1]) <= 65535
        ):
            ports.update(range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            junk.append(item)
    return frozenset(ports), junk


def linux_range(proc_root: str = "/proc") -> tuple[EphemeralRange | None, list[str]]:
    """The range and reserved ports under `proc_root` (the machine's, or the procfs that
    `--proc-root` names), and a note for each file that could not be read or holds what
    the kernel would not write. A missing file is not noted: not this kernel's."""
    sysctl = Path(proc_root, "sys/net/ipv4")
    range_file = sysctl / "ip_local_port_range"
    reserved_file = sysctl / "ip_local_reserved_ports"
    notes: list[str] = []
    text = read_sysctl(range_file, notes)
    if text is None:
        return None, notes
    reserved = read_sysctl(reserved_file, notes) or ""
    found, problems = parse_range(text, reserved, os_text(str(range_file)))
    return found, [*notes, *problems]


def parse_range(
    text: str, reserved_text: str, source: str
) -> tuple[EphemeralRange | None, list[str]]:
    """A range from the texts of ip_local_port_range and ip_local_reserved_ports (read
    from `source`, a path that names them in the notes on what the kernel would not
    write)."""
    words = text.split()
    digits = len(words) == 2 and all(w.isascii() and w.isdigit() for w in words)
    low, high = (int(words[0]), int(words[1])) if digits else (0, 0)
    if not 1 <= low <= high <= 65535:
        return None, [f"{source}: not a port range: {text.strip()[:40]}"]
    reserved, junk = parse_port_list(reserved_text)
    notes = []
    if junk:
        reserved_source = source.replace("ip_local_port_range", "ip_local_reserved_ports")
        notes.append(f"{reserved_source}: not ports, skipped: {', '.join(junk)[:80]}")
    return EphemeralRange(low=low, high=high, reserved=reserved, source=source), notes


def read_sysctl(path: Path, notes: list[str]) -> str | None:
    """A sysctl file's text (bytes that are not UTF-8 as `\\xNN`), None when it is missing
    or unreadable; unreadable is noted."""
    try:
        return decoded(path.read_bytes())
    except FileNotFoundError:
        return None
    except OSError as exc:
        notes.append(f"{path}: {exc.strerror or exc}")
        return None


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


def read_ephemeral_range(
    platform: str = sys.platform, proc_root: str = "/proc"
) -> tuple[EphemeralRange, list[str]]:
    """This OS's range, or IANA's 49152-65535 when the OS will not say; and, on Linux,
    a note for each sysctl file under `proc_root` that could not be read or trusted."""
    notes: list[str] = []
    if platform.startswith("linux"):
        found, notes = linux_range(proc_root)
    elif platform == "darwin":
        found = macos_range()
    elif platform == "win32":
        found = windows_range()
    else:
        found = None
    return found or IANA_DYNAMIC, notes
