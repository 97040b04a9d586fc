"""The centre zones' gateways: one SVI per zone on each core, sharing a VRRP address."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Interface, OspfIf, Vrrp
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import BACKBONE, DevicePlan
from countynet.ipam.addr import host, ip


def zone_gateways(dev: DevicePlan, facts: Facts) -> Part:
    """A core's SVI in every centre zone: .2, .3, ... by core rank, VRRP virtual address .1 (the first core
    has the highest priority), passive in the backbone."""
    if dev.role != "core":
        return NOTHING
    rank = facts.cores.index(dev.name)
    ifaces, vlans = [], []
    for z in facts.topo.centre.zones:
        pfx = facts.address("centre_zone", z.name)
        vlans.append((z.vlan, z.name))
        ifaces.append(Interface(
            name=dev.hw.vlan_if.format(n=z.vlan), kind="svi", vlan=z.vlan, address=host(pfx, 2 + rank),
            description=f"gateway of zone {z.name}", zone=z.security_zone,
            vrrp=Vrrp(group=z.vlan % 255 or 1, vip=ip(host(pfx, 1)), priority=120 - 20 * rank),
            ospf=OspfIf(area=BACKBONE, passive=True, network_type="broadcast")))
    return Part(interfaces=tuple(ifaces), vlans=tuple(vlans))
