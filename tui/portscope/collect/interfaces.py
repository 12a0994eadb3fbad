"""Interfaces, their addresses and default gateways, through netifaces.

An interface name is bytes to the kernel and need not be UTF-8. netifaces cannot take
such a name: listing interfaces then raises SystemError, and reading gateways crashes
the process (a segfault in netifaces 0.12.5 when a route uses the interface). So the
kernel's own index is asked first; while it holds a name that is not UTF-8, that
interface's addresses and the gateways are not read, and a note says so.
"""

from __future__ import annotations

import socket

import netifaces

from portscope.model import Family, Gateway, Interface, InterfaceTable
from portscope.sanitise import os_text

FAMILIES: dict[int, Family] = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}


def read_interfaces() -> tuple[InterfaceTable, list[str]]:
    """A table of this machine's interfaces (one that vanishes mid-read is skipped), and
    a note for each that netifaces cannot be asked about."""
    names, undecodable = interface_names()
    interfaces = [Interface(name=os_text(name), addresses=()) for name in undecodable]
    for name in names:
        try:
            by_family = netifaces.ifaddresses(name)
        except ValueError:
            continue
        addresses = tuple(
            entry["addr"]
            for family in FAMILIES
            for entry in by_family.get(family, ())
            if entry.get("addr")
        )
        interfaces.append(Interface(name=name, addresses=addresses))
    notes = [
        f"interface {os_text(name)}: its name is not UTF-8, so its addresses and the "
        "default gateways were not read"
        for name in undecodable
    ]
    gateways = () if undecodable else default_gateways()
    return InterfaceTable(interfaces=tuple(interfaces), gateways=gateways), notes


def interface_names() -> tuple[list[str], list[str]]:
    """(names netifaces can be asked about, names that are not UTF-8), from the kernel's
    index where there is one (Linux, macOS, Windows); netifaces' own list elsewhere."""
    try:
        indexed = [name for _index, name in socket.if_nameindex()]
    except (AttributeError, OSError):
        return netifaces.interfaces(), []
    undecodable = [name for name in indexed if os_text(name) != name]
    if not undecodable:
        return netifaces.interfaces(), []
    return [name for name in indexed if name not in undecodable], undecodable


def default_gateways() -> tuple[Gateway, ...]:
    defaults = netifaces.gateways().get("default", {})
    return tuple(
        Gateway(family=FAMILIES[family], address=route[0], interface=route[1])
        for family, route in defaults.items()
        if family in FAMILIES
    )
