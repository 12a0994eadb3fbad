"""The kernel's own counters, as `nstat` reads them, and conntrack's fill.

/proc/net/netstat and /proc/net/snmp hold pairs of lines, a header naming the columns
and a line of values under the same prefix (`TcpExt: SyncookiesSent ...` then
`TcpExt: 0 ...`); a counter's name is the prefix and the column (`TcpExtListenDrops`),
as nstat names it. Both files, and conntrack's count, are the reading thread's network
namespace's. Read strictly, as the socket tables are: a pair that is not what the
kernel writes is skipped with a warning, and the other pairs are still used.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from portscope.collect.skipped import Skipped
from portscope.model import WATCHED_COUNTERS, KernelCounters

COUNTER_FILES = ("net/netstat", "net/snmp")
CONNTRACK_COUNT = "sys/net/netfilter/nf_conntrack_count"
CONNTRACK_MAX = "sys/net/netfilter/nf_conntrack_max"
HEADER = re.compile(r"([A-Za-z][A-Za-z0-9]*):((?: [A-Za-z0-9_]+)+)")
VALUES = re.compile(r"([A-Za-z][A-Za-z0-9]*):((?: -?[0-9]{1,20})+)")
"""A pair's lines as the kernel prints them (`seq_printf(" %lu")`): the prefix, a colon,
then one space before each name or value. Values are unsigned longs, but a few are
signed (`Tcp: MaxConn -1`)."""
COUNT = re.compile(r"[0-9]{1,20}")
WATCHED = frozenset(counter.name for counter in WATCHED_COUNTERS)

Reader = Callable[[str], "str | None"]
"""A file's text by its name under the /proc root (`net/snmp`); None when it is absent."""


def parse_counters(text: str, skipped: Skipped) -> dict[str, int]:
    """The watched counters of one file, by nstat's name; a pair whose prefixes differ,
    whose counts of names and values differ, or with a name or value the kernel would
    not write, is skipped and counted (by its header's line number)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    found: dict[str, int] = {}
    for index in range(0, len(lines), 2):
        pair = lines[index : index + 2]
        counters = parse_pair(pair[0], pair[1]) if len(pair) == 2 else None
        if counters is None:
            skipped.add(index + 1)
        else:
            found.update(counters)
    return found


def parse_pair(header: str, values: str) -> dict[str, int] | None:
    """The watched counters of one pair; None when it is not a pair the kernel writes."""
    names, figures = HEADER.fullmatch(header), VALUES.fullmatch(values)
    if names is None or figures is None or names[1] != figures[1]:
        return None
    prefix, columns, numbers = names[1], names[2].split(), figures[2].split()
    if len(columns) != len(numbers):
        return None
    pairs = zip((prefix + column for column in columns), numbers, strict=True)
    return {name: int(number) for name, number in pairs if name in WATCHED}


def read_number(read: Reader, name: str, notes: list[str]) -> int | None:
    text = read(name)
    if text is None:
        return None
    value = text.strip()
    if COUNT.fullmatch(value):
        return int(value)
    notes.append(f"{name}: not a count")
    return None


def read_kernel_counters(read: Reader) -> tuple[KernelCounters, list[str]]:
    """The watched counters (in `WATCHED_COUNTERS` order) and conntrack's fill, and a
    note per file that held lines
    that are not counters. A missing file is no problem: a kernel without conntrack, or
    a system with no /proc at all."""
    notes: list[str] = []
    values: dict[str, int] = {}
    for name in COUNTER_FILES:
        text = read(name)
        if text is None:
            continue
        skipped = Skipped("line pair")
        values.update(parse_counters(text, skipped))
        if skipped.count:
            notes.append(skipped.note(name))
    counters = KernelCounters(
        values={c.name: values[c.name] for c in WATCHED_COUNTERS if c.name in values},
        conntrack_count=read_number(read, CONNTRACK_COUNT, notes),
        conntrack_max=read_number(read, CONNTRACK_MAX, notes),
    )
    return counters, notes


def proc_reader(proc_root: str, notes: list[str]) -> Reader:
    """Files under `proc_root`, as ASCII (any other byte is U+FFFD, which no pattern
    here takes); one that cannot be read is absent, with a note."""

    def read(name: str) -> str | None:
        path = f"{proc_root}/{name}"
        try:
            with open(path, "rb") as handle:
                return handle.read().decode("ascii", "replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            notes.append(f"{path}: {exc.strerror or exc}")
            return None

    return read


def read_proc_counters(proc_root: str = "/proc") -> tuple[KernelCounters, list[str]]:
    """This namespace's counters through `proc_root`, and notes on what was not right."""
    notes: list[str] = []
    counters, problems = read_kernel_counters(proc_reader(proc_root, notes))
    return counters, [*notes, *(f"{proc_root}/{problem}" for problem in problems)]
