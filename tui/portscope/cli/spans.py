"""Durations, moments and sizes on the command line: `30d`, `24h`, `03:12`, `512M`.

ASCII only, like every number portscope takes (`numbers`); a bad one is an
argparse error saying what is accepted, which the parser turns into one line and
exit status 2.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
SIZES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_SPAN = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhdw]?)", re.ASCII)
_SIZE = re.compile(r"([0-9]+)([kmg]?)b?", re.ASCII | re.IGNORECASE)
_CLOCK = re.compile(r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?", re.ASCII)
DURATIONS = "a duration such as 90s, 15m, 24h, 7d or 2w"
MOMENTS = f"{DURATIONS} (that long ago), a time such as 03:12, or a date such as 2026-11-27T03:12"
MAX_SECONDS = 100 * 365 * 86_400.0


def duration(text: str) -> float:
    """Seconds in `text` (`24h`; a bare number is seconds), above 0 and within a century."""
    found = _SPAN.fullmatch(text)
    seconds = float(found[1]) * UNITS[found[2] or "s"] if found else 0.0
    if not 0 < seconds <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {DURATIONS}")
    return seconds


def moment(text: str, now: float | None = None) -> float:
    """A point in time: a duration ago, a clock time today (local), or an ISO date and
    time (local unless it says its offset)."""
    now = time.time() if now is None else now
    if _SPAN.fullmatch(text):
        return now - duration(text)
    try:
        if _CLOCK.fullmatch(text):
            today = datetime.fromtimestamp(now).date().isoformat()
            hour, rest = text.split(":", 1)
            return datetime.fromisoformat(f"{today}T{int(hour):02d}:{rest}").timestamp()
        if text.isascii() and text[:1].isdigit():
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {MOMENTS}")


def size(text: str) -> int:
    """Bytes in `text` (`512M`, `1G`, `100k`, or a number of bytes), at least 1 MiB."""
    found = _SIZE.fullmatch(text)
    count = int(found[1]) * SIZES[found[2].lower()] if found else 0
    if count < SIZES["m"]:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} is not a size of at least 1M, such as 64M, 512M or 2G"
        )
    return count
