"""The kernel's counters: read as nstat reads them, strictly, and judged by `check`.

Counters are per network namespace, so what must move (a listen queue overflowing) or
stay still (to compare with nstat) happens in a fresh one of the test's own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_portscope
from netns import needs_netns, run_scenario
from portscope.analysis.counters import CounterTracker
from portscope.collect.counters import COUNTER_FILES, Skipped, parse_counters, read_proc_counters
from portscope.model import LISTEN_DROPS, WATCHED_COUNTERS, KernelCounters

needs_nstat = pytest.mark.skipif(shutil.which("nstat") is None, reason="needs nstat (iproute2)")
WATCHED = [counter.name for counter in WATCHED_COUNTERS]


def copy_counters(root: Path) -> Path:
    """The machine's counter files, copied as they are now; the `net` directory."""
    net = root / "net"
    net.mkdir(parents=True)
    for name in COUNTER_FILES:
        (root / name).write_bytes(Path("/proc", name).read_bytes())
    return net


def write_conntrack(root: Path, count: str, maximum: str) -> None:
    """Conntrack's count and limit under `root`, each as a line of the given text."""
    netfilter = root / "sys" / "net" / "netfilter"
    netfilter.mkdir(parents=True)
    (netfilter / "nf_conntrack_count").write_text(f"{count}\n")
    (netfilter / "nf_conntrack_max").write_text(f"{maximum}\n")


def snapshot(root: Path) -> tuple[int, list[str], dict]:
    (root / "net" / "tcp").write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
        "  timeout inode\n"
    )
    done = run_portscope("snapshot", "--json", "--proc-root", str(root))
    return done.returncode, done.stderr.splitlines(), json.loads(done.stdout or "null")


def test_the_kernels_own_files_read_whole(tmp_path: Path) -> None:
    copy_counters(tmp_path)
    counters, notes = read_proc_counters(str(tmp_path))
    assert notes == []
    assert list(counters.values) == [name for name in WATCHED if name in counters.values]
    assert {LISTEN_DROPS, "TcpExtListenOverflows", "TcpEstabResets", "TcpOutRsts"} <= set(
        counters.values
    )


def tcp_ext(lines: list[str], header: str | None = None, values: str | None = None) -> list[str]:
    """The netstat file with its first pair (TcpExt) changed."""
    return [header or lines[0], values or lines[1], *lines[2:]]


@pytest.mark.parametrize(
    ("damage", "first", "kept"),  # first: the bad pair's first line; -1, the file's last
    [
        (lambda lines: tcp_ext(lines, lines[0].replace("TcpExt:", "TcpExx:", 1)), 1, False),
        (lambda lines: tcp_ext(lines, values=lines[1] + " 7"), 1, False),
        (lambda lines: tcp_ext(lines, values=lines[1].replace(" 0", " 0x", 1)), 1, False),
        (lambda lines: tcp_ext(lines, values=lines[1].replace(" 0", " +0", 1)), 1, False),
        (lambda lines: tcp_ext(lines, values=lines[1].replace(" 0", " \u0660", 1)), 1, False),
        (lambda lines: tcp_ext(lines, lines[0].replace(" ", " \x1b[2J", 1)), 1, False),
        (lambda lines: [*lines, "TcpExt: Lonely"], -1, True),
        (lambda lines: ["", "", *lines], 1, True),
    ],
    ids=[
        "prefixes differ",
        "a value too many",
        "hex",
        "a sign",
        "non-ascii",
        "escape",
        "odd line",
        "empty pair",
    ],
)
def test_a_damaged_pair_is_one_warning_and_the_rest_is_read(
    tmp_path: Path,
    damage,
    first: int,
    kept: bool,  # type: ignore[no-untyped-def]
) -> None:
    net = copy_counters(tmp_path)
    damaged = damage((net / "netstat").read_text(encoding="ascii").splitlines())
    (net / "netstat").write_text("\n".join(damaged) + "\n", encoding="utf-8")
    line = len(damaged) if first == -1 else first
    status, stderr, doc = snapshot(tmp_path)
    assert status == 0
    problem = f"{tmp_path}/net/netstat: 1 malformed line pair skipped (first: line {line})"
    assert stderr == [f"portscope: warning: {problem}"]
    assert problem in doc["errors"]
    values = doc["counters"]["values"]
    assert "TcpEstabResets" in values, "the snmp file is read still"
    assert (LISTEN_DROPS in values) == kept


REAL = Path("/proc/net/netstat").read_text(encoding="ascii")


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(0, len(REAL)), st.integers(0, 40))
def test_no_text_makes_the_parser_raise(noise: str, at: int, cut: int) -> None:
    """Random text, or the real file with noise spliced in and a piece cut out: counters
    or skipped pairs, never an exception."""
    for text in (noise, REAL[:at] + noise + REAL[at + cut :]):
        skipped = Skipped("line pair")
        found = parse_counters(text, skipped)
        assert set(found) <= set(WATCHED)
        assert skipped.count <= text.count("\n") // 2 + 1


def test_conntrack_fill_is_read_and_judged(tmp_path: Path) -> None:
    copy_counters(tmp_path)
    write_conntrack(tmp_path, "1600", "2000")
    status, stderr, doc = snapshot(tmp_path)
    assert (status, stderr) == (0, [])
    assert doc["counters"]["conntrack"] == {"count": 1600, "max": 2000}
    fill = doc["health"]["conntrack"]
    assert (fill["percent"], fill["level"]) == (80.0, "warning")
    problems = [p["text"] for p in doc["health"]["problems"]]
    assert any(text.startswith("conntrack table 1600 of 2000") for text in problems)


def test_a_bad_conntrack_count_is_a_warning(tmp_path: Path) -> None:
    copy_counters(tmp_path)
    write_conntrack(tmp_path, "-3", "2000")
    status, stderr, doc = snapshot(tmp_path)
    assert status == 0
    assert stderr == [
        f"portscope: warning: {tmp_path}/sys/net/netfilter/nf_conntrack_count: not a count"
    ]
    assert doc["counters"]["conntrack"] is None and doc["health"]["conntrack"] is None


def test_no_counter_files_is_no_counters_and_no_warning(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    status, stderr, doc = snapshot(tmp_path)
    assert (status, stderr) == (0, [])
    assert doc["counters"] == {"values": {}, "conntrack": None}


def test_rates_are_since_the_last_poll() -> None:
    tracker = CounterTracker()
    first = tracker.update(KernelCounters({LISTEN_DROPS: 10, "TcpOutRsts": 5}), 100.0)
    assert [(c.name, c.value, c.delta) for c in first.changes] == [
        (LISTEN_DROPS, 10, None),
        ("TcpOutRsts", 5, None),
    ]
    assert first.seconds is None and first.moved == ()
    second = tracker.update(KernelCounters({LISTEN_DROPS: 16, "TcpOutRsts": 9}), 102.0)
    drops = second.get(LISTEN_DROPS)
    assert drops is not None and (drops.delta, drops.rate) == (6, 3.0)
    assert [c.name for c in second.moved] == [LISTEN_DROPS], "resets are context, not alarms"
    reset = tracker.update(KernelCounters({LISTEN_DROPS: 2}), 104.0)
    assert [(c.name, c.delta, c.rate) for c in reset.changes] == [(LISTEN_DROPS, None, None)]


@needs_netns
@needs_nstat
def test_the_counters_are_the_ones_nstat_shows() -> None:
    """In a namespace where nothing moves, every watched counter equals nstat's."""
    result = run_scenario(connect=3, nstat=True)
    assert result["nstat"] == result["nstat_after"], "the namespace stayed still"
    values = result["snapshot"]["counters"]["values"]
    assert values == {name: result["nstat"][name] for name in WATCHED if name in result["nstat"]}
    assert values["TcpExtListenDrops"] == 0


NOT_THE_QUEUE = ["--filter", "sport != :7000"]
"""The overflowing listener's full accept queue is a finding of its own: left out, the
listen drops (the namespace's, whatever the filter) are what the check reports."""


@needs_netns
def test_an_overflowing_listen_queue_moves_the_counters_and_the_check() -> None:
    result = run_scenario(
        overflow=12, overflow_during_check=True, check=["--interval", "1", "--json", *NOT_THE_QUEUE]
    )
    values = result["snapshot"]["counters"]["values"]
    assert values["TcpExtListenOverflows"] > 0 and values["TcpExtListenDrops"] > 0
    report = json.loads(result["check"]["stdout"])
    assert (report["status"], result["check"]["status"]) == ("WARNING", 1)
    drops = report["health"]["listen_drops"]
    assert drops["dropped"] > 0 and drops["level"] == "warning"
    assert drops["overflows"] is not None and 0 < drops["overflows"] <= drops["dropped"]
    assert "TcpExtListenDrops" in report["health"]["kernel_counters"]["moved"]
    assert any("dropped at listeners" in p["text"] for p in report["problems"])
    assert f"listen_drops={drops['dropped']};1;100;0" in report["perfdata"]


@needs_netns
def test_listen_drops_above_the_critical_count_are_critical() -> None:
    result = run_scenario(
        overflow=12,
        overflow_during_check=True,
        check=["--interval", "1", "--listen-drops-critical", "1", *NOT_THE_QUEUE],
    )
    assert result["check"]["status"] == 2
    head = result["check"]["stdout"].splitlines()[0]
    assert head.startswith("PORTSCOPE CRITICAL - ")
    assert "connection attempts dropped at listeners" in head


@needs_netns
def test_no_listen_drops_is_ok() -> None:
    result = run_scenario(connect=3, check=["--interval", "0.3", "--json"])
    report = json.loads(result["check"]["stdout"])
    assert (report["status"], result["check"]["status"]) == ("OK", 0)
    assert report["health"]["listen_drops"]["dropped"] == 0
    assert report["summary"].endswith(", no listen drops")


@needs_netns
def test_conntrack_fill_crossing_the_warning_pages() -> None:
    """Real entries: a rule makes conntrack follow the namespace's connections; the
    table's maximum is the machine's, so the threshold is set to what a few reach."""
    result = run_scenario(
        conntrack=True, connect=3, check=["--json", "--conntrack-warning", "0.0001"]
    )
    fill = result["snapshot"]["counters"]["conntrack"]
    if fill is None:
        pytest.skip("no nf_conntrack in this kernel")
    assert fill["count"] >= 3
    report = json.loads(result["check"]["stdout"])
    assert (report["status"], result["check"]["status"]) == ("WARNING", 1)
    assert report["health"]["conntrack"]["count"] >= 3
    assert report["summary"].startswith("conntrack table ")
