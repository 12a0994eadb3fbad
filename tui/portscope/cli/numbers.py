"""The one parser for every numeric command-line option.

ASCII digits only, as the lookup query takes them: `float()` and `int()` also take
fullwidth or Arabic-Indic digits, `1_000`, surrounding spaces, `inf` and `nan`, none
of which a user means as a poll interval or a threshold. Values are finite and within
the option's bounds; the error says what is accepted.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_WHOLE = re.compile(r"[+-]?[0-9]+", re.ASCII)
NEGATIVE_NUMBER_LIKE = re.compile(r"^-(?:\d|\.\d|inf|nan)", re.IGNORECASE)
"""An argument argparse must take as a value, not as an option: `-1`, `-1e5`, `-inf`,
`-nan`, `-１`. argparse's own test knows only `-1` and `-.5`, so `--interval -inf`
was "expected one argument" instead of a word on the number."""


@dataclass(frozen=True, slots=True)
class Number:
    """An argparse `type=`: `what` from `low` to `high` (`low` itself excluded when
    `above_low`), a whole number when `whole`."""

    what: str
    low: float
    high: float
    whole: bool = False
    above_low: bool = False

    def __call__(self, text: str) -> float:
        value = self._parsed(text)
        in_range = self.low < value if self.above_low else self.low <= value
        if not (math.isfinite(value) and in_range and value <= self.high):
            # repr() escapes what is not printable, so the error stays one line
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {self.accepted}")
        return value

    def _parsed(self, text: str) -> float:
        """The number `text` spells in ASCII, else NaN (so the bounds refuse it)."""
        if not (_WHOLE if self.whole else _DECIMAL).fullmatch(text):
            return math.nan
        try:
            return int(text) if self.whole else float(text)
        except ValueError:  # more digits than int() converts
            return math.nan

    @property
    def accepted(self) -> str:
        low, high = (f"{int(b)}" if self.whole else f"{b:g}" for b in (self.low, self.high))
        if self.above_low:
            return f"{self.what} above {low} and at most {high}"
        return f"{self.what} from {low} to {high}"
