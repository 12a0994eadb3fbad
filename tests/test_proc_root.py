"""`portscope snapshot --proc-root DIR` reads what is under DIR, and says what it could
not use: broken socket tables (copies of the machine's real ones, damaged) are one
warning per table naming the file and the first bad line; nothing out of range gets
through; the ephemeral range comes from DIR too."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import needs_ipv6, run_portscope
from portscope.collect.procnet import TCP_STATES
from sockets import SocketFarm
from ss import ss_sockets

TABLES = ("tcp", "tcp6", "udp", "udp6")
BAD_ROWS = [
    "  90: 0100007F:FFFFFFFF 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4242 1",
    "  91: 0100007F:1F90 00000000:0000 FF 00000000:00000000 00:00000000 00000000 0 0 4243 1",
    "  92: 0100007F:+F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4244 1",
    "  93: 0100007F:1F91 00000000:0000 0A 0:0 00:0 0 0 0 4245 1",
    "  94: 7F000001:1F92 00000000:0000 0A 00000000:00000000 00:00000000 00000000 -1 0 4246 1",
    "  95: truncated",
    "",
    "  96: 0100007F0:1F93 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4247 1",
]
"""Rows the kernel never writes: a port above 0xFFFF, state FF, a sign, short queue
fields, a negative uid, a cut line, an empty line, a nine-digit address."""


def copy_tables(root: Path) -> Path:
    """The machine's socket tables, copied as they are now; the `net` directory."""
    net = root / "net"
    net.mkdir()
    for name in TABLES:
        (net / name).write_bytes(Path("/proc/net", name).read_bytes())
    return net


def write_port_range(root: Path, text: str) -> Path:
    """`text` as the ip_local_port_range under `root`; the directory that holds it."""
    sysctl = root / "sys/net/ipv4"
    sysctl.mkdir(parents=True)
    (sysctl / "ip_local_port_range").write_text(text)
    return sysctl


def snapshot(root: Path) -> tuple[int, list[str], dict]:
    done = run_portscope("snapshot", "--json", "--proc-root", str(root))
    return done.returncode, done.stderr.splitlines(), json.loads(done.stdout or "null")


def endpoints(doc: dict) -> set[tuple]:
    """(proto, local address, local port, remote address, remote port, state) of every
    socket in a snapshot document."""
    found = {
        (r["proto"], r["address"], r["port"], None, None, "LISTEN" if r["proto"] == "tcp" else None)
        for r in doc["listening"]
    }
    columns = ("local_address", "local_port", "remote_address", "remote_port", "state")
    return found | {(r["proto"], *(r[c] for c in columns)) for r in doc["connections"]}


@pytest.mark.parametrize("host", ["127.0.0.1", pytest.param("::1", marks=needs_ipv6)])
def test_a_copy_of_the_real_tables_reads_as_ss_sees_them(
    farm: SocketFarm, tmp_path: Path, host: str
) -> None:
    """The checks reject nothing the kernel writes: the copy is read whole, as `ss` sees it."""
    listener = farm.tcp_listener(host)
    farm.connect(listener, 3)
    lone = farm.udp_socket(host)
    farm.udp_socket(host).connect(lone.getsockname()[:2])
    ports = {s.getsockname()[1] for s in farm.sockets}

    def mine(sock: tuple) -> bool:
        return sock[1] == host and sock[2] in ports and sock[4] in {None, *ports}

    copy_tables(tmp_path)
    seen = {s[:6] for s in ss_sockets() if mine(s)}
    status, stderr, doc = snapshot(tmp_path)
    assert (status, stderr) == (0, []), "the kernel's own tables hold no malformed line"
    assert {s for s in endpoints(doc) if mine(s)} == seen
    assert len(seen) == 1 + 6 + 2


def ports_of(doc: dict[str, Any]) -> set[int]:
    return {r["port"] for r in doc["listening"]} | {r["local_port"] for r in doc["connections"]}


def test_malformed_rows_are_one_warning_naming_the_file_and_first_line(
    farm: SocketFarm, tmp_path: Path
) -> None:
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    net = copy_tables(tmp_path)
    real = (net / "tcp").read_text().splitlines()
    first_bad = len(real) + 1
    held = ports_of(snapshot(tmp_path)[2])  # the machine's own, which may be any port
    (net / "tcp").write_text("\n".join(real + BAD_ROWS) + "\n")
    status, stderr, doc = snapshot(tmp_path)
    note = f"{net}/tcp: {len(BAD_ROWS)} malformed lines skipped (first: line {first_bad})"
    assert status == 0
    assert stderr == [f"portscope: warning: {note}"]
    assert doc["errors"] == [note]
    assert [r["port"] for r in doc["listening"] if r["port"] == port] == [port]
    assert not (ports_of(doc) - held) & {0xFFFFFFFF, 0x1F90, 0x1F91, 0x1F92, 0x1F93}
    assert {r["state"] for r in doc["connections"]} <= set(TCP_STATES.values())


def test_non_ascii_garbage_costs_only_its_lines(farm: SocketFarm, tmp_path: Path) -> None:
    port = farm.tcp_listener("127.0.0.1").getsockname()[1]
    net = copy_tables(tmp_path)
    header, *rows = (net / "tcp").read_bytes().splitlines(keepends=True)
    garbage = [b"\xff\xfe\x00 gar\xe5bage \xc3\n", rows[0].replace(b": ", b":\xa0 ", 1)]
    (net / "tcp").write_bytes(b"".join([header, *garbage, *rows]))
    status, stderr, doc = snapshot(tmp_path)
    assert status == 0
    assert stderr == [f"portscope: warning: {net}/tcp: 2 malformed lines skipped (first: line 2)"]
    assert port in {r["port"] for r in doc["listening"]}


@needs_ipv6
def test_a_file_that_is_no_socket_table_is_one_error_and_the_others_still_print(
    farm: SocketFarm, tmp_path: Path
) -> None:
    port = farm.tcp_listener("::1").getsockname()[1]
    net = copy_tables(tmp_path)
    (net / "tcp").write_bytes(bytes(range(256)) * 4)
    (net / "udp").write_bytes(b"")
    status, stderr, doc = snapshot(tmp_path)
    notes = [f"{net}/{name}: not a socket table (no kernel header line)" for name in ("tcp", "udp")]
    assert status == 0
    assert stderr == [f"portscope: warning: {note}" for note in notes]
    assert doc["errors"] == notes
    assert port in {r["port"] for r in doc["listening"]}


def test_when_no_table_is_a_socket_table_the_poll_fails_naming_a_file(tmp_path: Path) -> None:
    net = tmp_path / "net"
    net.mkdir()
    (net / "tcp").write_bytes(b"\x7fELF\x02\x01\x01")
    done = run_portscope("snapshot", "--proc-root", str(tmp_path))
    assert done.returncode == 1 and done.stdout == ""
    reason = f"{net}/tcp: not a socket table (no kernel header line)"
    assert done.stderr.splitlines() == [f"portscope: snapshot failed: OSError: {reason}"]


def test_the_ephemeral_range_comes_from_the_proc_root(tmp_path: Path) -> None:
    net = tmp_path / "net"
    net.mkdir()
    rows = [
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode",
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0  "
        "      0 5001 1 0000000000000000 100 0 0 10 0",
    ]
    for local in (40003, 40005, 50000):
        rows.append(
            f"   1: 0100007F:{local:04X} 0100007F:1F90 01 00000000:00000000 00:00000000 "
            f"00000000     0        0 {local} 1 0000000000000000 20 4 30 10 -1"
        )
    (net / "tcp").write_text("\n".join(rows) + "\n")
    sysctl = write_port_range(tmp_path, "40000\t40009\n")
    (sysctl / "ip_local_reserved_ports").write_text("40005\n")
    status, stderr, doc = snapshot(tmp_path)
    assert (status, stderr) == (0, [])
    rng = doc["ephemeral_range"]
    assert (rng["low"], rng["high"], rng["reserved"]) == (40000, 40009, [40005])
    assert rng["source"] == f"{sysctl}/ip_local_port_range"
    flags = {r["local_port"]: r["ephemeral"] for r in doc["connections"]}
    assert flags == {40003: True, 40005: False, 50000: False}


def test_a_broken_range_under_the_proc_root_is_a_warning(tmp_path: Path) -> None:
    copy_tables(tmp_path)
    sysctl = write_port_range(tmp_path, "40000 4294967295\n")
    status, stderr, doc = snapshot(tmp_path)
    note = f"{sysctl}/ip_local_port_range: not a port range: 40000 4294967295"
    assert status == 0 and stderr == [f"portscope: warning: {note}"] and doc["errors"] == [note]
    assert doc["ephemeral_range"]["source"].startswith("IANA")


def test_warnings_on_stderr_show_what_they_quote_as_text(tmp_path: Path) -> None:
    """A warning quotes paths and file contents: an escape there reaches the terminal
    as text."""
    root = tmp_path / "proc\x1b[2J"
    root.mkdir()
    copy_tables(root)
    write_port_range(root, "\x1b]0;owned\x07\n")
    status, stderr, _doc = snapshot(root)
    shown = f"{tmp_path}/proc\\x1b[2J/sys/net/ipv4/ip_local_port_range"
    assert status == 0
    assert stderr == [f"portscope: warning: {shown}: not a port range: \\x1b]0;owned\\x07"]


def fake_process(root: Path, pid: int, links: dict[int, str]) -> None:
    """A process directory under `root`, copied from this process's own (renumbered), whose
    fds link to `links`."""
    me = Path("/proc/self")
    proc = root / str(pid)
    (proc / "fd").mkdir(parents=True)
    (root / "stat").write_bytes(Path("/proc/stat").read_bytes())
    stat = (me / "stat").read_bytes()
    (proc / "stat").write_bytes(b"%d" % pid + stat[stat.index(b" ") :])
    for name in ("status", "cmdline"):
        (proc / name).write_bytes((me / name).read_bytes())
    for fd, target in links.items():
        (proc / "fd" / str(fd)).symlink_to(target)


def test_fd_links_the_kernel_would_not_write_are_not_sockets(
    farm: SocketFarm, tmp_path: Path
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    copy_tables(tmp_path)
    inode = os.fstat(listener.fileno()).st_ino
    links = {3: "socket:[zz]", 4: "socket:[12", 5: "socket:[\u0661\u0662]", 6: f"socket:[{inode}]"}
    fake_process(tmp_path, 4242, links)
    status, stderr, doc = snapshot(tmp_path)
    assert (status, stderr) == (0, [])
    (mine,) = [r for r in doc["listening"] if r["port"] == listener.getsockname()[1]]
    assert mine["pid"] == 4242


def test_the_table_summary_quotes_the_range_source_as_text(tmp_path: Path) -> None:
    root = tmp_path / "proc\x1b[2J"
    root.mkdir()
    copy_tables(root)
    write_port_range(root, "40000 40009\n")
    done = run_portscope("snapshot", "--proc-root", str(root))
    assert done.returncode == 0, done.stderr
    source = f"{tmp_path}/proc\\x1b[2J/sys/net/ipv4/ip_local_port_range"
    assert done.stdout.splitlines()[-1].endswith(f"; ephemeral range 40000-40009 ({source})")


@pytest.mark.parametrize("damage", ["stat", "status", "boot time"])
def test_a_process_whose_files_do_not_parse_is_a_hidden_owner_not_a_failed_poll(
    farm: SocketFarm, tmp_path: Path, damage: str
) -> None:
    listener = farm.tcp_listener("127.0.0.1")
    copy_tables(tmp_path)
    fake_process(tmp_path, 4242, {3: f"socket:[{os.fstat(listener.fileno()).st_ino}]"})
    broken = {"stat": "4242/stat", "status": "4242/status", "boot time": "stat"}[damage]
    (tmp_path / broken).write_text("4242 (x) R 1 2\nUid: garbage\n")
    status, stderr, doc = snapshot(tmp_path)
    assert (status, stderr) == (0, [])
    (mine,) = [r for r in doc["listening"] if r["port"] == listener.getsockname()[1]]
    if damage == "status":
        assert (mine["pid"], mine["user"]) == (4242, None), "the rest of the process is read"
    else:
        assert mine["pid"] is None
