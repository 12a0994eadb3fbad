"""The lookup query language, shared by `portscope lookup` and the dashboard's search box.

A port (`60630`), a range (`8000-8100`), or a service name or keyword (`ssh`, `Xsan`).
Only ASCII digits count as digits, so `0x50`, `٦٠` or `-1` are refused rather than
guessed at; the error says what is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portscope.model import MAX_PORT
from portscope.sanitise import printable

MAX_LENGTH = 64
ACCEPTED = (
    "expected a port 0-65535, a range like 8000-8100, "
    "or a service name or keyword starting with a letter (ssh, Xsan)"
)
_PORT = re.compile(r"[0-9]+", re.ASCII)
_RANGE = re.compile(r"([0-9]+)\s*-\s*([0-9]+)", re.ASCII)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 _.+/*-]*", re.ASCII)
_DIGITS = re.compile(r"[0-9-]+", re.ASCII)


class QueryError(ValueError):
    """The query does not parse; str() is one line saying what is wrong and what is accepted."""


@dataclass(frozen=True, slots=True)
class PortQuery:
    port: int


@dataclass(frozen=True, slots=True)
class RangeQuery:
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class NameQuery:
    text: str


Query = PortQuery | RangeQuery | NameQuery


def _refuse(problem: str) -> QueryError:
    return QueryError(f"{problem}; {ACCEPTED}")


def _port(digits: str) -> int:
    port = int(digits)
    if port > MAX_PORT:
        raise _refuse(f"port {printable(digits, 24)} is out of range")
    return port


def parse_query(text: str) -> Query:
    """The query `text` asks for; raises QueryError, and nothing else, when it is not one."""
    if not isinstance(text, str):
        raise _refuse("the query is not text")
    stripped = text.strip()
    if not stripped:
        raise _refuse("the query is empty")
    if len(stripped) > MAX_LENGTH:
        raise _refuse(f"the query is {len(stripped)} characters long (at most {MAX_LENGTH})")
    if _PORT.fullmatch(stripped):
        return PortQuery(_port(stripped))
    if match := _RANGE.fullmatch(stripped):
        low, high = _port(match.group(1)), _port(match.group(2))
        if low > high:
            raise _refuse(f"the range {low}-{high} runs backwards")
        return RangeQuery(low, high)
    if _DIGITS.fullmatch(stripped):
        raise _refuse(f"{stripped!r} is not a port or a range")
    if _NAME.fullmatch(stripped):
        return NameQuery(" ".join(stripped.split()))
    raise _refuse(f"{printable(stripped, 24)!r} is not a port, range or name")
