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
from dataclasses import dataclass

from portscope.model import WATCHED_COUNTERS, KernelCounters

COUNTER_FILES = ("net/netstat", "net/snmp")
CONNTRACK_COUNT = "sys/net/netfilter/nf_conntrack_count"
CONNTRACK_MAX = "sys/net/netfilter/nf_conntrack_max"
PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]*")
NAME = re.compile(r"[A-Za-z0-9_]+")
VALUE = re.compile(r"-?[0-9]{1,20}")
"""Values are the kernel's unsigned longs, but a few are signed (`Tcp: MaxConn -1`)."""

Reader = Callable[[str], "str | None"]
"""A file's text by its name under the /proc root (`net/snmp`); None when it is absent."""


@dataclass(slots=True)
class Skipped:
    """The line pairs of one file that were not counters: how many, and the first."""

    count: int = 0
    first: int | None = None

    def add(self, line_number: int) -> None:
        self.count += 1
        if self.first is None:
            self.first = line_number

    def note(self, path: str) -> str:
        pairs = "line pair" if self.count == 1 else "line pairs"
        return f"{path}: {self.count} malformed {pairs} skipped (first: line {self.first})"


def parse_counters(text: str, skipped: Skipped) -> dict[str, int]:
    """Every counter of one file, by nstat's name; a pair whose prefixes differ, whose
    counts of names and values differ, or with a name or value the kernel would not
    write, is skipped and counted (by its header's line number)."""
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
    prefix, colon, names = header.partition(":")
    value_prefix, value_colon, numbers = values.partition(":")
    if not (colon and value_colon and prefix == value_prefix and PREFIX.fullmatch(prefix)):
        return None
    columns, figures = names.split(), numbers.split()
    if not columns or len(columns) != len(figures):
        return None
    if not all(NAME.fullmatch(c) for c in columns) or not all(VALUE.fullmatch(f) for f in figures):
        return None
    return {prefix + column: int(figure) for column, figure in zip(columns, figures, strict=True)}


def read_number(read: Reader, name: str, notes: list[str]) -> int | None:
    text = read(name)
    if text is None:
        return None
    value = text.strip()
    if VALUE.fullmatch(value) and not value.startswith("-"):
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
        skipped = Skipped()
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
