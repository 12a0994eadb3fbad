"""The independent witness: `ss -tuanpH` parsed into the tuples our snapshot is compared on.

One parser for every differential test (core, scale, churn). Each socket becomes
`(proto, local_address, local_port, remote_address, remote_port, state, pid)` with the
same conventions as `portscope snapshot --json`: plain IPs (no brackets), psutil state
names (None for UDP), None for a missing peer, and the lowest pid when several
processes share a socket. A link-local local address keeps its scope (`fe80::1%lo`);
ss prints none on the peer side.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess

SS_ARGV = ("ss", "-tuanpH")
SS_TIMEOUT = 60.0

SsSocket = tuple[str, str, int, "str | None", "int | None", "str | None", "int | None"]

STATES = {
    "ESTAB": "ESTABLISHED",
    "SYN-SENT": "SYN_SENT",
    "SYN-RECV": "SYN_RECV",
    "FIN-WAIT-1": "FIN_WAIT1",
    "FIN-WAIT-2": "FIN_WAIT2",
    "TIME-WAIT": "TIME_WAIT",
    "CLOSE": "CLOSE",
    "CLOSE-WAIT": "CLOSE_WAIT",
    "LAST-ACK": "LAST_ACK",
    "LISTEN": "LISTEN",
    "CLOSING": "CLOSING",
    "UNCONN": None,
}
PID = re.compile(r"pid=(\d+)")


def split_endpoint(text: str) -> tuple[str, str]:
    """`[::1]:80`, `[fe80::1]%lo:80`, `127.0.0.1%lo:80`, `*:80` -> (address, port), with
    an interface kept as a `%name` suffix of the address."""
    address, _, port = text.rpartition(":")
    if address.startswith("["):
        inside, _, scope = address[1:].partition("]")
        address = inside + scope
    return address, port


def plain_address(address: str) -> str:
    """The address as a plain IP: ss's `*` (dual-stack any) is `::`; an interface suffix
    (`127.0.0.1%lo`, SO_BINDTODEVICE) is dropped except as a link-local IPv6 scope."""
    if address == "*":
        return "::"
    ip, _, scope = address.partition("%")
    if scope and ipaddress.ip_address(ip).is_link_local and ":" in ip:
        return address
    return ip


def parse_line(line: str) -> SsSocket:
    """One `ss -tuanpH` row."""
    fields = line.split()
    proto, state_name, local, peer = fields[0], fields[1], fields[4], fields[5]
    local_address, local_port = split_endpoint(local)
    peer_address, peer_port = split_endpoint(peer)
    connected = peer_port != "*"
    pids = [int(p) for p in PID.findall(" ".join(fields[6:]))]
    state = STATES[state_name] if proto == "tcp" else None
    return (
        proto,
        plain_address(local_address),
        int(local_port),
        plain_address(peer_address) if connected else None,
        int(peer_port) if connected else None,
        state,
        min(pids) if pids else None,
    )


def ss_sockets() -> set[SsSocket]:
    """Every TCP and UDP socket `ss` sees in this network namespace."""
    done = subprocess.run(
        list(SS_ARGV),
        capture_output=True,
        text=True,
        errors="replace",  # another test's process may have a name that is not UTF-8
        timeout=SS_TIMEOUT,
        check=True,
    )
    return {parse_line(line) for line in done.stdout.splitlines() if line.strip()}


SS_INFO_ARGV = ("ss", "-tinH")
Ends = tuple[str, int, str, int]
"""(local address, local port, remote address, remote port), plain IPs."""
INFO_COUNTERS = ("bytes_acked", "bytes_received", "segs_out", "segs_in")


def parse_info_line(text: str) -> dict[str, float]:
    """The `key:value` words of the line `ss -i` prints under a socket: the byte and
    segment counters (which ss leaves out when 0, so 0 here), the total retransmissions
    (`retrans:now/total`), and rtt, rttvar and minrtt in microseconds (ss prints ms)."""
    words = dict(word.split(":", 1) for word in text.split() if ":" in word)
    found: dict[str, float] = {name: int(words.get(name, 0)) for name in INFO_COUNTERS}
    found["total_retrans"] = int(words["retrans"].split("/")[1]) if "retrans" in words else 0
    if "rtt" in words:
        rtt, rttvar = words["rtt"].split("/")
        found["rtt"], found["rttvar"] = float(rtt) * 1000, float(rttvar) * 1000
    if "minrtt" in words:
        found["min_rtt"] = float(words["minrtt"]) * 1000
    return found


def ss_tcp_info() -> dict[Ends, dict[str, float]]:
    """Every TCP socket `ss -tin` sees with tcp_info, by its endpoints."""
    done = subprocess.run(
        list(SS_INFO_ARGV), capture_output=True, text=True, timeout=SS_TIMEOUT, check=True
    )
    found: dict[Ends, dict[str, float]] = {}
    ends: Ends | None = None
    for line in done.stdout.splitlines():
        if not line.strip():
            continue
        if line[0].isspace():
            if ends is not None:
                found[ends] = parse_info_line(line)
            continue
        fields = line.split()
        local, peer = split_endpoint(fields[3]), split_endpoint(fields[4])
        ends = (plain_address(local[0]), int(local[1]), plain_address(peer[0]), int(peer[1]))
    return found
