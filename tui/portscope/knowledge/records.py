"""What the knowledge layer says about ports: services, notes and the bind verdict."""

from __future__ import annotations

from dataclasses import dataclass

IANA = "iana"
SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """A name registered (IANA) or configured (/etc/services) for a port.

    `span` is set when the assignment covers a range of ports, like x11's 6000-6063.
    """

    name: str
    protocols: tuple[str, ...]
    description: str
    source: str
    span: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """A sourced, hand-written fact about what people actually meet on a port."""

    text: str
    source: str


@dataclass(frozen=True, slots=True)
class BindVerdict:
    """Whether a new service could bind the port here now, in one line, and why."""

    can_bind: bool
    verdict: str
    reasons: tuple[str, ...]
