"""What a setting in the config file may hold: kinds that check a value read from TOML
and write one back on a single line.

A kind refuses a value by saying what it wanted, in words a user can act on. `Config`
gives each of its fields one (`config.setting`); nothing else knows what a field holds,
so a new kind of value, say a table of key names, is a new kind here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class Refused(ValueError):
    """A value that is not of the kind; the message says what was wanted."""


class Kind(Protocol):
    @property
    def wanted(self) -> str:
        """What the kind accepts, as the end of "wanted ...": "a number from 1 to 5"."""
        ...

    def accept(self, value: object) -> object:
        """`value` as the setting holds it; raises Refused if it is not of the kind."""
        ...

    def toml(self, value: Any) -> str:
        """`value` written as one TOML value, on one line."""
        ...


@dataclass(frozen=True, slots=True)
class Text:
    """A short string of printable characters (no escapes reach the screen)."""

    max_length: int = 64

    @property
    def wanted(self) -> str:
        return f"text of 1 to {self.max_length} printable characters"

    def accept(self, value: object) -> str:
        if isinstance(value, str) and 0 < len(value) <= self.max_length and value.isprintable():
            return value
        raise Refused(self.wanted)

    def toml(self, value: Any) -> str:
        return toml_string(value)


@dataclass(frozen=True, slots=True)
class Number:
    """A finite number from `low` to `high` (above `low` when `low_open`), kept as float."""

    low: float
    high: float
    low_open: bool = False

    @property
    def wanted(self) -> str:
        if self.low_open:
            return f"a number above {self.low:g}, at most {self.high:g}"
        return f"a number from {self.low:g} to {self.high:g}"

    def accept(self, value: object) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            above_low = value > self.low if self.low_open else value >= self.low
            if above_low and value <= self.high:  # NaN passes neither
                return float(value)
        raise Refused(self.wanted)

    def toml(self, value: Any) -> str:
        return repr(float(value))


@dataclass(frozen=True, slots=True)
class Flag:
    """true or false."""

    @property
    def wanted(self) -> str:
        return "true or false"

    def accept(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        raise Refused(self.wanted)

    def toml(self, value: Any) -> str:
        return "true" if value else "false"


@dataclass(frozen=True, slots=True)
class Table:
    """A TOML table of names to values of one kind, held as a dict; written inline."""

    value: Kind
    key: Text = Text()

    @property
    def wanted(self) -> str:
        return f"a table of names ({self.key.wanted}) to {self.value.wanted}"

    def accept(self, value: object) -> dict[str, object]:
        if not isinstance(value, Mapping):
            raise Refused(self.wanted)
        try:
            return {self.key.accept(name): self.value.accept(item) for name, item in value.items()}
        except Refused:
            raise Refused(self.wanted) from None

    def toml(self, value: Any) -> str:
        pairs = ", ".join(f"{toml_string(k)} = {self.value.toml(v)}" for k, v in value.items())
        return f"{{ {pairs} }}" if pairs else "{}"


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and anything unprintable escaped."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char.isprintable():
            escaped.append(char)
        else:
            escaped.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
    return '"' + "".join(escaped) + '"'
