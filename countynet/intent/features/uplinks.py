"""External hand-offs: the ISP (firewalls, the VPN hub) and the city network (the city edge)."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Interface, StaticRoute
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan
from countynet.topology.ranges import expand_ports


def uplinks(dev: DevicePlan, facts: Facts) -> Part:
    """The provider-facing port of each of the device's uplinks; a default route to an internet provider.
    A firewall's internet port is NAT's outside."""
    ups = facts.uplinks.get(dev.name, ())
    if not ups:
        return NOTHING
    ifaces, static = [], []
    for up in ups:
        group = up.device.partition(":")[2]
        port = expand_ports(dev.hw.ports.get(group or "wan", []) or ["?"])[0]
        zone = facts.zone_of_kind("internet" if up.kind == "internet" else "city")
        ifaces.append(Interface(name=port, kind="routed", address=up.address, zone=zone,
                                description=f"to {up.name} {up.peer}", nat_outside=(dev.role == "firewall"),
                                link=f"uplink:{up.name}"))
        if up.kind == "internet":
            static.append(StaticRoute(prefix="0.0.0.0/0", next_hop=up.peer, description=f"default to {up.name}"))
    return Part(interfaces=tuple(ifaces), static=tuple(static))
