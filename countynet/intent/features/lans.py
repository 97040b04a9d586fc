"""User LANs and their DHCP: a unit's LAN, a township's government and stations LANs (with the switch's
access ports split between them), a village's LAN."""

from __future__ import annotations

import ipaddress

from countynet.intent.facts import Facts
from countynet.intent.models import DhcpPool, Interface, OspfIf
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan, area_id
from countynet.ipam.addr import host, ip
from countynet.topology.ranges import expand_ports


def lans(dev: DevicePlan, facts: Facts) -> Part:
    """The LANs the device is the gateway of, with a DHCP pool each; the site's area for a routed site."""
    if dev.role == "unit_router" and dev.unit:
        unit = facts.units[dev.unit]
        area = area_id(facts.topo.county.routing.unit_area)
        part = _lan(dev, facts, facts.address("unit_lan", unit.id), facts.topo.county.vlans.unit_lan,
                    facts.zone_of_kind("unit-lan"), f"unit-{unit.id}", area)
        return Part(part.interfaces, part.vlans, areas=frozenset({area}), dhcp=part.dhcp)
    if dev.role == "township_switch" and dev.township:
        return _township(dev, facts)
    if dev.role == "village_cpe" and dev.township and dev.village:
        tw = facts.townships[dev.township]
        area = area_id(tw.area)
        part = _lan(dev, facts, facts.address("village_lan", f"{tw.id}/{dev.village}"),
                    facts.topo.county.vlans.village_lan, facts.zone_of_kind("village-lan"), f"{tw.id}-{dev.village}",
                    area)
        on_vpn = dev.name in facts.vpn_village
        return Part(part.interfaces, part.vlans, areas=frozenset() if on_vpn else frozenset({area}), dhcp=part.dhcp)
    return NOTHING


def _township(sw: DevicePlan, facts: Facts) -> Part:
    assert sw.township is not None
    tw = facts.townships[sw.township]
    vl = facts.topo.county.vlans
    area = area_id(tw.area)
    zone = facts.zone_of_kind("township-lan")
    ifaces, vlans, dhcp = [], [], []
    for label, vid in (("gov", vl.township_gov), ("stations", vl.township_stations)):
        pfx = facts.address("township_lan", f"{tw.id}:{label}")
        vlans.append((vid, label))
        name = sw.hw.vlan_if.format(n=vid)
        ifaces.append(Interface(name=name, kind="svi", vlan=vid, address=host(pfx, 1), zone=zone,
                                description=f"{tw.pinyin} {label} LAN gateway",
                                ospf=OspfIf(area=area, passive=True, network_type="broadcast")))
        dhcp.append(_dhcp(facts, name, pfx, f"{tw.id}-{label}"))
    access = expand_ports(sw.hw.ports.get("access", []))
    half = (len(access) * 2) // 3
    for n, p in enumerate(access):
        ifaces.append(Interface(name=p, kind="access", vlan=vl.township_gov if n < half else vl.township_stations,
                                description="government offices" if n < half else "stations (所/站)"))
    return Part(interfaces=tuple(ifaces), vlans=tuple(vlans), dhcp=tuple(dhcp))


def _lan(d: DevicePlan, facts: Facts, pfx: str, vid: int, zone: str, label: str, area: str) -> Part:
    """A LAN whose gateway is `d`: an SVI on its layer-2 LAN ports (those no link uses), or a routed port."""
    lan_ports = expand_ports(d.hw.ports.get("lan", d.hw.ports.get("access", [])))
    ospf = OspfIf(area=area, passive=True, network_type="broadcast")
    if d.hw.vlan_if:
        name = d.hw.vlan_if.format(n=vid)
        used = {str(p) for p in facts.alloc.ports.get(d.name, {}).values()}  # ports of the device's links
        ifaces = [Interface(name=name, kind="svi", vlan=vid, address=host(pfx, 1), zone=zone,
                            description=f"{label} LAN gateway", ospf=ospf)]
        ifaces += [Interface(name=p, kind="access", vlan=vid, description=f"{label} LAN")
                   for p in lan_ports if p not in used]
        return Part(interfaces=tuple(ifaces), vlans=((vid, label),), dhcp=(_dhcp(facts, name, pfx, label),))
    name = lan_ports[0]  # plan.hardware_fits: a gateway without vlan_if has LAN ports
    return Part(interfaces=(Interface(name=name, kind="routed", address=host(pfx, 1), zone=zone,
                                      description=f"{label} LAN", ospf=ospf),),
                dhcp=(_dhcp(facts, name, pfx, label),))


def _dhcp(facts: Facts, iface: str, pfx: str, name: str) -> DhcpPool:
    """A pool serving the LAN after its first reserved addresses (up to 10, a quarter of a small LAN)."""
    reserve = min(10, ipaddress.IPv4Network(pfx).num_addresses // 4)
    return DhcpPool(name=name, interface=iface, network=pfx, gateway=ip(host(pfx, 1)),
                    range_start=ip(host(pfx, 1 + reserve)), range_end=ip(host(pfx, -2)), dns=list(facts.dns))
