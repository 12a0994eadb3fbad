"""What a filter expression can test: one entry per field in `FIELDS`, each saying how to
read its value from a socket and how to read what the user typed for it.

The meanings follow ss(8) where ss has the field: a socket without a peer has peer port 0
and the unspecified peer address, `state` knows ss's names and groups, and an IPv4 rule
also matches the v4-mapped peers of a dual-stack socket. A field that issue adds
(`container`, `netns`, `unit`, traffic counts) is one more entry here, made with one of
the kinds below.
"""

from __future__ import annotations

import operator
import socket
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import ClassVar

import re2

from portscope.addresses import parse_ip, plain_ip
from portscope.exposure import exposure_of
from portscope.model import MAX_PORT, Socket, endpoint, names_namespace
from portscope.view.table_model import FilterError, compile_regex

Test = Callable[[Socket], bool]
ORDERED = {
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
"""Comparisons every ordered field takes; `!=` is `not =` for every field, so a socket
that lacks the value (no owner, say) is `!=` anything."""
ANY_PORT = "*"


class ValueProblem(ValueError):
    """What the user typed is no value for the field; the message says what is wanted.
    The parser adds where it was."""


def quoted(text: str) -> str:
    """A value as an error message quotes it: one line, cut short."""
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def regex(pattern: str) -> re2._Regexp:
    """The row filter's RE2 pattern (case-insensitive, linear-time); ValueProblem if it
    is none, or holds bytes that are not text (an undecodable command-line argument)."""
    try:
        pattern.encode("utf-8")
        return compile_regex(pattern)
    except UnicodeEncodeError:
        raise ValueProblem(
            "a regular expression must be text (it holds undecodable bytes)"
        ) from None
    except FilterError as exc:
        raise ValueProblem(str(exc)) from None


def regex_test(pattern: str, read: Callable[[Socket], str | None]) -> Test:
    """`~`: the pattern found in the value."""
    compiled = regex(pattern)

    def test(sock: Socket) -> bool:
        value = read(sock)
        return value is not None and compiled.search(value) is not None

    return test


def port_value(text: str) -> int | None:
    """A port as ss reads one (`port_number`), or None for ss's `*` (any port)."""
    return None if text in (ANY_PORT, ":" + ANY_PORT) else port_number(text)


def port_number(text: str) -> int:
    """`443`, `:443`, or a service name (`:https`), as ss reads a port: names come from
    the services database (/etc/services), as ss's do."""
    digits = text[1:] if text.startswith(":") else text
    if digits.isascii() and digits.isdigit():
        if int(digits) <= MAX_PORT:
            return int(digits)
        raise ValueProblem(f"{quoted(text)} is not a port (0 to {MAX_PORT})")
    ports = set()
    for proto in ("tcp", "udp"):
        try:
            ports.add(socket.getservbyname(digits, proto))
        except (OSError, UnicodeError, ValueError):
            continue
    if len(ports) == 1:
        return ports.pop()
    if ports:
        raise ValueProblem(f"{quoted(text)} names different TCP and UDP ports")
    raise ValueProblem(f"{quoted(text)} is not a port (0 to {MAX_PORT}, or a service name)")


def whole_number(text: str) -> int | None:
    if text.isascii() and text.isdigit() and len(text) <= 20:
        return int(text)
    raise ValueProblem(f"{quoted(text)} is not a whole number")


@dataclass(frozen=True, slots=True)
class NumberField:
    """A number (a port, a pid, a uid): every comparison, and `~` over its digits."""

    read: Callable[[Socket], int | None]
    parse: Callable[[str], int | None]
    """The number typed; None for one that stands for any (a port's `*`)."""

    operators = (*ORDERED, "~")

    def test(self, op: str, value: str) -> Test:
        read = self.read
        if op == "~":
            return regex_test(value, lambda sock: None if (n := read(sock)) is None else str(n))
        wanted, compare = self.parse(value), ORDERED[op]
        if wanted is None:
            if op != "=":
                raise ValueProblem(f"{quoted(value)} (any) can only be compared with =")
            return lambda sock: True

        def test(sock: Socket) -> bool:
            number = read(sock)
            return number is not None and compare(number, wanted)

        return test


@dataclass(frozen=True, slots=True)
class TextField:
    """Text (a process name, a user): `=` ignores case, `~` is a regular expression."""

    read: Callable[[Socket], str | None]

    operators = ("=", "~")

    def test(self, op: str, value: str) -> Test:
        read = self.read
        if op == "~":
            return regex_test(value, read)
        wanted = value.casefold()

        def test(sock: Socket) -> bool:
            text = read(sock)
            return text is not None and text.casefold() == wanted

        return test


@dataclass(frozen=True, slots=True)
class ChoiceField:
    """One of a few names (a state, a protocol): `=` takes a name or a group of them."""

    read: Callable[[Socket], str]
    names: dict[str, frozenset[str]]
    """What the user may type (lower case, `_` as `-`) -> the values it stands for."""
    what: str
    listed: tuple[str, ...] = ()
    """The names an error lists (all of `names` when empty)."""

    operators = ("=", "~")

    def test(self, op: str, value: str) -> Test:
        if op == "~":
            return regex_test(value, self.read)
        return self.member_of(self.values(value))

    def values(self, name: str) -> frozenset[str]:
        """What `name` stands for; ValueProblem, listing the names, when it is none."""
        wanted = self.names.get(name.lower().replace("_", "-"))
        if wanted is None:
            choices = ", ".join(self.listed or self.names)
            raise ValueProblem(f"{quoted(name)} is not {self.what} ({choices})")
        return wanted

    def member_of(self, wanted: frozenset[str]) -> Test:
        read = self.read
        return lambda sock: read(sock) in wanted


@dataclass(frozen=True, slots=True)
class PlaceField:
    """Where a socket lives (`netns`): `=` takes its namespace's name (ignoring case),
    inode or `netns:<inode>`; `~` a regular expression over the name. The name is the
    row's (`RowText.netns`), as the snapshot names the namespace: a container's once
    a namer gives it one."""

    operators = ("=", "~")
    reads: ClassVar[str] = "netns"
    """The `RowText` attribute its test is given beside the socket."""

    def test(self, op: str, value: str) -> Callable[[Socket, str], bool]:
        """A test of a socket and its namespace's name."""
        if op == "~":
            compiled = regex(value)
            return lambda sock, name: compiled.search(name) is not None
        wanted = value.casefold()
        return lambda sock, name: (
            name.casefold() == wanted or names_namespace(value, sock.netns, ())
        )


@dataclass(frozen=True, slots=True)
class ExposureField:
    """How far a listener reaches (`exposure`), as the Listening pane's column says:
    the row's (`RowText.exposure`), judged with the snapshot (a container's unpublished
    listener reaches only its network, a published one as far as its host binding);
    by its address alone where the row says none."""

    choices: ChoiceField
    operators = ("=", "~")
    reads: ClassVar[str] = "exposure"

    def test(self, op: str, value: str) -> Callable[[Socket, str], bool]:
        """A test of a socket and the exposure its row says ("" for none)."""
        if op == "~":
            compiled = regex(value)
            return lambda sock, kind: (
                compiled.search(kind or exposure_of(sock.local_address)) is not None
            )
        wanted = self.choices.values(value)
        return lambda sock, kind: (kind or exposure_of(sock.local_address)) in wanted


RowField = PlaceField | ExposureField
"""The fields whose test reads the row's text beside the socket."""

IP = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class HostSpec:
    """ss's `[FAMILY:]ADDRESS[/LEN][:PORT]`: a network and a port, either left open."""

    network: Network | None
    port: int | None

    def matches(self, address: str, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        network = self.network
        if network is None:
            return True
        if isinstance(network, IPv4Network):  # a v4 rule matches v4-mapped peers, as in ss
            ip = plain_ip(address)
            return isinstance(ip, IPv4Address) and ip in network
        ip6 = parse_ip(address)
        return isinstance(ip6, IPv6Address) and ip6 in network


def host_spec(text: str) -> HostSpec:
    """An address, a CIDR network, `host:port`, `[v6]:port`, `*:port` or `*`; IPv6 with
    a port in brackets, as ss wants it (unbracketed IPv6 is taken whole, as an address).
    ss's partial IPv4 networks (`193.233.7/24`) are read as ss reads them; host names are
    not resolved (the dashboard never waits on DNS)."""
    rest = text
    if rest.startswith("["):
        address, bracket, port = rest[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            raise ValueProblem(f"{quoted(text)} is not [address]:port")
        return HostSpec(network_of(address, text), spec_port(port[1:], text) if port else None)
    if rest.startswith(ANY_PORT):
        port = rest[1:]
        if port and not port.startswith(":"):
            raise ValueProblem(f"{quoted(text)} is not *:port")
        return HostSpec(None, spec_port(port[1:], text) if port else None)
    whole = maybe_network(rest)
    if whole is not None:
        return HostSpec(whole, None)
    address, colon, port = rest.rpartition(":")
    if not colon or not address:
        raise ValueProblem(not_a_host(text))
    return HostSpec(network_of(address, text), spec_port(port, text))


def spec_port(text: str, whole: str) -> int | None:
    if text in ("", ANY_PORT):
        return None
    try:
        return port_number(text)
    except ValueProblem:
        raise ValueProblem(f"{quoted(whole)}: {quoted(text)} is not a port") from None


def not_a_host(text: str) -> str:
    return (
        f"{quoted(text)} is not an address, network or host:port "
        "(127.0.0.1, 10.0.0.0/8, [::1]:443; names are not resolved)"
    )


def network_of(text: str, whole: str) -> Network | None:
    if text in ("", ANY_PORT):
        return None
    network = maybe_network(text)
    if network is None:
        raise ValueProblem(not_a_host(whole))
    return network


def maybe_network(text: str) -> Network | None:
    """`10.0.0.1`, `10.0.0.0/8`, `10/8`, `::1`, `fe80::/10`, `fe80::1%eth0`; else None."""
    address, slash, length = text.partition("%")[0].partition("/")
    if slash and not (length.isascii() and length.isdigit()):
        return None
    if ":" not in address and address.count(".") < 3 and slash:
        parts = address.split(".")
        if all(p.isascii() and p.isdigit() for p in parts):
            address = ".".join([*parts, *["0"] * (4 - len(parts))])
    if not address.isascii() or parse_ip(address) is None:
        return None
    try:
        return ip_network(f"{address}{slash}{length}", strict=False)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class HostField:
    """One end of a socket (`src`, `dst`): `=` takes a HostSpec, `~` the endpoint's text
    (`127.0.0.1:443`, `[::1]:22`)."""

    read: Callable[[Socket], tuple[str, int]]

    operators = ("=", "~")

    def test(self, op: str, value: str) -> Test:
        read = self.read
        if op == "~":
            return regex_test(value, lambda sock: endpoint(*read(sock)))
        spec = host_spec(value)
        return lambda sock: spec.matches(*read(sock))


UNSPECIFIED = {"ipv4": "0.0.0.0", "ipv6": "::"}


def peer(sock: Socket) -> tuple[str, int]:
    """The remote end as ss sees it: no peer is the unspecified address, port 0."""
    address = sock.remote_address
    return (UNSPECIFIED[sock.family] if address is None else address), sock.remote_port or 0


def tcp_state(sock: Socket) -> str:
    """ss's state of a socket: UDP is ESTABLISHED when connected, else CLOSE (UNCONN);
    a request socket (NEW_SYN_RECV) is SYN_RECV, as ss shows it."""
    if sock.proto == "udp" or sock.state is None:
        return "ESTABLISHED" if sock.remote_address is not None else "CLOSE"
    return "SYN_RECV" if sock.state == "NEW_SYN_RECV" else sock.state


STATE_NAMES = {
    "established": "ESTABLISHED",
    "syn-sent": "SYN_SENT",
    "syn-recv": "SYN_RECV",
    "fin-wait-1": "FIN_WAIT1",
    "fin-wait-2": "FIN_WAIT2",
    "time-wait": "TIME_WAIT",
    "closed": "CLOSE",
    "close-wait": "CLOSE_WAIT",
    "last-ack": "LAST_ACK",
    "listening": "LISTEN",
    "closing": "CLOSING",
}
"""ss's state names and the model's (psutil's) for them."""
STATE_ALIASES = {
    "close": "closed",
    "unconnected": "closed",
    "unconn": "closed",
    "syn-rcv": "syn-recv",
    "listen": "listening",
    "estab": "established",
    "fin-wait1": "fin-wait-1",
    "fin-wait2": "fin-wait-2",
}
"""Other spellings ss accepts or prints, and the model's own (`LISTEN`, `FIN_WAIT1`)."""
ALL_STATES = frozenset(STATE_NAMES.values())
BUCKET = frozenset({"SYN_RECV", "TIME_WAIT"})
CONNECTED = ALL_STATES - {"LISTEN", "CLOSE"}
STATE_GROUPS = {
    "all": ALL_STATES,
    "connected": CONNECTED,
    "synchronized": CONNECTED - {"SYN_SENT"},
    "bucket": BUCKET,
    "big": ALL_STATES - BUCKET,
}
"""ss's groups, as ss(8) defines them (`ss --help` lists their members)."""
STATES = {
    **{name: frozenset({state}) for name, state in STATE_NAMES.items()},
    **{alias: frozenset({STATE_NAMES[name]}) for alias, name in STATE_ALIASES.items()},
    **STATE_GROUPS,
}


def one_each(*names: str) -> dict[str, frozenset[str]]:
    return {name: frozenset({name}) for name in names}


def owner_name(sock: Socket) -> str | None:
    return sock.owner.name if sock.owner else None


def owner_user(sock: Socket) -> str | None:
    return sock.owner.user if sock.owner else None


def container_name(sock: Socket) -> str | None:
    """The owner's container by name (its short id where the runtime did not say)."""
    container = sock.owner.container if sock.owner else None
    return container.label if container else None


def unit_name(sock: Socket) -> str | None:
    return sock.owner.unit if sock.owner else None


Field = NumberField | TextField | ChoiceField | HostField | PlaceField | ExposureField
STATE = ChoiceField(tcp_state, STATES, "a state", (*STATE_NAMES, *STATE_GROUPS))

FIELDS: dict[str, Field] = {
    "sport": NumberField(lambda s: s.local_port, port_value),
    "dport": NumberField(lambda s: peer(s)[1], port_value),
    "src": HostField(lambda s: (s.local_address, s.local_port)),
    "dst": HostField(peer),
    "state": STATE,
    "proto": ChoiceField(lambda s: s.proto, one_each("tcp", "udp"), "a protocol"),
    "family": ChoiceField(
        lambda s: s.family,
        {
            **one_each("ipv4", "ipv6"),
            **{alias: frozenset({"ipv4"}) for alias in ("inet", "4", "v4")},
            **{alias: frozenset({"ipv6"}) for alias in ("inet6", "6", "v6")},
        },
        "a family",
    ),
    "exposure": ExposureField(
        ChoiceField(
            lambda s: exposure_of(s.local_address),
            one_each("loopback", "container", "interface", "all"),
            "an exposure",
        )
    ),
    "process": TextField(owner_name),
    "user": TextField(owner_user),
    "container": TextField(container_name),
    "unit": TextField(unit_name),
    "pid": NumberField(lambda s: s.pid, whole_number),
    "uid": NumberField(lambda s: s.uid, whole_number),
    "netns": PlaceField(),
}
"""Every field by the name an expression uses; `!=` is offered by every field."""
