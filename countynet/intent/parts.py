"""What a feature function returns: its own part of one device's intent, immutable.

The assembly (:mod:`countynet.intent.assemble`) concatenates the parts of a device in the order it states
once, so the order of a device's interfaces and static routes is the order of the features that give them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from countynet.intent.models import Bgp, DhcpPool, Interface, StaticRoute, Vpn


@dataclass(frozen=True)
class Part:
    """One feature's contribution to one device."""

    interfaces: tuple[Interface, ...] = ()
    vlans: tuple[tuple[int, str], ...] = ()   # (VLAN id, name) the feature needs on the device
    static: tuple[StaticRoute, ...] = ()
    areas: frozenset[str] = frozenset()       # OSPF areas the feature puts the device in
    dhcp: tuple[DhcpPool, ...] = ()
    vpn: Vpn | None = None
    bgp: Bgp | None = None


NOTHING = Part()


@dataclass(frozen=True)
class Layout:
    """A device's parts, concatenated: what the section features (OSPF, management, NAT) read."""

    interfaces: tuple[Interface, ...]
    vlans: Mapping[int, str]
    static: tuple[StaticRoute, ...]
    areas: frozenset[str]
    dhcp: tuple[DhcpPool, ...]
    vpn: Vpn | None
    bgp: Bgp | None
    clashes: tuple[tuple[int, str, str], ...] = ()  # (VLAN id, first name, other name): a numbering problem


def concatenate(parts: Iterable[Part]) -> Layout:
    """Parts in order. A VLAN keeps the first name given; two different names for one id are a clash."""
    interfaces: list[Interface] = []
    vlans: dict[int, str] = {}
    static: list[StaticRoute] = []
    areas: set[str] = set()
    dhcp: list[DhcpPool] = []
    vpn: Vpn | None = None
    bgp: Bgp | None = None
    clashes = []
    for p in parts:
        interfaces += p.interfaces
        for vid, name in p.vlans:
            if vlans.setdefault(vid, name) != name:
                clashes.append((vid, vlans[vid], name))
        static += p.static
        areas |= p.areas
        dhcp += p.dhcp
        if p.vpn is not None:
            assert vpn is None, "two features gave the device a VPN"
            vpn = p.vpn
        if p.bgp is not None:
            assert bgp is None, "two features gave the device BGP"
            bgp = p.bgp
    return Layout(tuple(interfaces), vlans, tuple(static), frozenset(areas), tuple(dhcp), vpn, bgp, tuple(clashes))
