"""Step 3 of the intent stage: every device's intent from its features, in the one order stated here.

A device's interfaces and static routes appear in the order of the layout features that give them (the
loopback first, then link ends, gateways, ...); the section features then read the concatenated layout.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from countynet.errors import Collector
from countynet.intent.facts import Facts, county_facts
from countynet.intent.features.access_mgmt import access_mgmt
from countynet.intent.features.access_security import access_security
from countynet.intent.features.bgp import bgp
from countynet.intent.features.filters import filters
from countynet.intent.features.gateways import zone_gateways
from countynet.intent.features.lans import lans
from countynet.intent.features.links import links
from countynet.intent.features.loopback import loopback
from countynet.intent.features.management import management
from countynet.intent.features.nat import inbound_nat_route, nat
from countynet.intent.features.ospf import ospf
from countynet.intent.features.servers import server, server_port
from countynet.intent.features.stp import stp
from countynet.intent.features.uplinks import uplinks
from countynet.intent.features.vpn_hub import vpn_hub
from countynet.intent.features.vpn_spoke import vpn_spoke
from countynet.intent.models import DeviceIntent, Interface, Routing, Vlan
from countynet.intent.parts import Part, concatenate
from countynet.intent.plan import DevicePlan, allocate, plan
from countynet.topology.validated import Topology

# The order of a device's interfaces, VLANs, routes and pools: the order of these features.
LAYOUT: tuple[Callable[[DevicePlan, Facts], Part], ...] = (
    loopback,       # router id / management address
    links,          # both ends of every link (routed ports, transit SVIs, trunks, access ports, aggregates)
    zone_gateways,  # centre zone SVIs with VRRP on the cores
    access_mgmt,    # access switches' management SVI and default route
    server_port,    # servers' port and default route
    uplinks,        # ISP and city hand-offs, defaults to the ISPs
    inbound_nat_route,  # a second internet exit's inbound source NAT block (null route, into OSPF)
    lans,           # unit, township and village LANs with DHCP
    vpn_spoke,      # broadband port, tunnel and IPsec peer of VPN villages
    vpn_hub,        # the hub's peers and routes to every VPN village
    bgp,            # the city edge's eBGP session and summary discard routes
)


def _site_name(dev: DevicePlan, facts: Facts) -> str:
    if dev.township:
        tw = facts.townships[dev.township]
        vil = next((v for v in tw.villages if v.id == dev.village), None) if dev.village else None
        if vil:  # 澧田镇芦溪村 Litian luxi (360830103201)
            return (f"{tw.name_zh}{vil.name_zh or vil.id} {tw.pinyin} {vil.pinyin or vil.id}"
                    + (f" ({vil.code})" if vil.code else ""))
        return f"{tw.name_zh} {tw.pinyin}"
    if dev.unit:
        u = facts.units[dev.unit]
        return f"{u.name_zh} {u.name_en}"
    return f"{facts.topo.county.county.name_zh}信息中心 information centre"


def _ospf_auth(i: Interface, dev: DevicePlan, facts: Facts) -> Interface:
    """An OSPF interface authenticates with the first algorithm of its platform's `ospf_auth` (preferred first) that
    the device at the other end also has: keyed MD5 on a link with an FRR 8.4 or Comware 7 end, which have no
    HMAC-SHA for OSPFv2, HMAC-SHA-256 elsewhere (docs/security.md). Loopbacks and non-OSPF interfaces are
    unchanged."""
    if not i.ospf or i.kind == "loopback":
        return i
    peer = facts.devices.get(i.peer.host) if i.peer else None
    common = [a for a in dev.flavour.ospf_auth if peer is None or a in peer.flavour.ospf_auth]
    if not common:
        raise ValueError(f"{dev.name} and {peer.name if peer else '?'} share no OSPF authentication algorithm "
                         "(platform registry `ospf_auth`)")
    if i.ospf.auth == common[0]:
        return i
    return i.model_copy(update={"ospf": i.ospf.model_copy(update={"auth": common[0]})})


def device_intent(dev: DevicePlan, facts: Facts, col: Collector) -> DeviceIntent:
    """One device's intent: its layout features, then its sections (OSPF, management, NAT, server, filters,
    spanning tree, access security)."""
    layout = concatenate(feature(dev, facts) for feature in LAYOUT)
    for vid, first, other in layout.clashes:
        vl = facts.topo.county.vlans
        col.add(facts.topo.diag("county", ["vlans"], f"VLAN {vid} on {dev.name} is both {first!r} and {other!r}",
                                f"keep transit VLANs ({vl.transit_first}-{vl.transit_last}) clear of the zone and "
                                "LAN VLANs"))
    routing_ospf = ospf(dev, facts, layout)
    interfaces = list(layout.interfaces)
    if routing_ospf is None:  # a device without OSPF (VPN village, server) carries no OSPF settings
        interfaces = [i.model_copy(update={"ospf": None}) if i.ospf else i for i in interfaces]
    interfaces = [_ospf_auth(i, dev, facts) for i in interfaces]
    fl = dev.flavour
    return DeviceIntent(
        hostname=dev.name, fqdn=f"{dev.name}.{facts.domain}", role=dev.role, platform=fl.family, flavour=fl.name,
        os=fl.os, vendor=dev.hw.vendor, model=dev.hw_name, hardware=dev.hw.kind, site=dev.site,
        site_name=_site_name(dev, facts),
        township=dev.township, unit=dev.unit, wave=dev.wave, loopback=facts.loopback(dev.name),
        interfaces=interfaces, vlans=[Vlan(id=k, name=v) for k, v in sorted(layout.vlans.items())],
        routing=Routing(ospf=routing_ospf, static=list(layout.static), bgp=layout.bgp), vpn=layout.vpn,
        dhcp=list(layout.dhcp), nat=nat(dev, facts, layout), management=management(dev, facts, layout),
        server=server(dev, facts), filters=filters(dev, facts, layout), stp=stp(dev, facts, layout),
        access_security=access_security(dev, facts, layout))


def build(t: Topology, lock: Mapping[str, Any]
          ) -> tuple[dict[str, DeviceIntent], dict[str, Any], list[ipaddress.IPv4Network]]:
    """Plan, allocate, compute the county facts, assemble every device (sorted by name)."""
    p = plan(t, lock)  # with the hosted servers placed against the lock (docs/hosting.md)
    alloc = allocate(t, p, lock)
    facts = county_facts(t, p, alloc)
    col = Collector("build")
    intents = {name: device_intent(dev, facts, col) for name, dev in sorted(p.devices.items())}
    col.raise_if_errors()
    return intents, alloc.lock(), list(facts.aggregates)
