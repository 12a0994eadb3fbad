"""Interfaces, their addresses and default gateways, through netifaces."""

from __future__ import annotations

import socket

import netifaces

from portscope.model import Family, Gateway, Interface, InterfaceTable

FAMILIES: dict[int, Family] = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}


def read_interfaces() -> InterfaceTable:
    """A table of this machine's interfaces; an interface that vanishes mid-read is skipped."""
    interfaces = []
    for name in netifaces.interfaces():
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
    defaults = netifaces.gateways().get("default", {})
    gateways = tuple(
        Gateway(family=FAMILIES[family], address=route[0], interface=route[1])
        for family, route in defaults.items()
        if family in FAMILIES
    )
    return InterfaceTable(interfaces=tuple(interfaces), gateways=gateways)
