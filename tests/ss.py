"""Read `ss -tuanpH` (iproute2) into comparable records: the reference we are checked against."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

SS_STATES = {
    "ESTAB": "ESTABLISHED",
    "SYN-SENT": "SYN_SENT",
    "SYN-RECV": "SYN_RECV",
    "FIN-WAIT-1": "FIN_WAIT1",
    "FIN-WAIT-2": "FIN_WAIT2",
    "TIME-WAIT": "TIME_WAIT",
    "CLOSE-WAIT": "CLOSE_WAIT",
    "LAST-ACK": "LAST_ACK",
    "CLOSING": "CLOSING",
    "LISTEN": "LISTEN",
    "UNCONN": None,
}
PIDS = re.compile(r"pid=(\d+)")
SS_TIMEOUT = 60

Endpoint = tuple[str, int]


@dataclass(frozen=True, slots=True)
class SsRow:
    """One socket as ss shows it; `state` uses psutil's names and is None for UDP."""

    proto: str
    local: Endpoint
    remote: Endpoint | None
    state: str | None
    pids: frozenset[int]

    @property
    def ends(self) -> tuple[str, Endpoint, Endpoint | None]:
        return self.proto, self.local, self.remote


def endpoint(text: str) -> Endpoint | None:
    """`127.0.0.1:80`, `[::1]:80`, `[fe80::1%eth0]:80` -> (address, port); `*` ports -> None."""
    address, _, port = text.rpartition(":")
    if port == "*":
        return None
    return address.strip("[]"), int(port)


def parse_ss(output: str) -> list[SsRow]:
    rows = []
    for line in output.splitlines():
        fields = line.split(maxsplit=6)
        if len(fields) < 6 or fields[0] not in ("tcp", "udp"):
            continue
        proto, state = fields[0], fields[1]
        local = endpoint(fields[4])
        assert local is not None, line
        rows.append(
            SsRow(
                proto=proto,
                local=local,
                remote=endpoint(fields[5]),
                state=SS_STATES.get(state, state) if proto == "tcp" else None,
                pids=frozenset(int(p) for p in PIDS.findall(fields[6] if len(fields) > 6 else "")),
            )
        )
    return rows


def read_ss() -> list[SsRow]:
    """Process names are whatever other processes chose, so undecodable bytes are replaced."""
    done = subprocess.run(["ss", "-tuanpH"], capture_output=True, timeout=SS_TIMEOUT, check=True)
    return parse_ss(done.stdout.decode("utf-8", "replace"))
