"""OSPF: the areas a device is in (township and unit areas totally stubby, summarised by the WAN routers, which
let each area announce only its ranges, loopbacks and links), default origination at the internet exits,
redistribution at the VPN hub and the city edge, the import filters of township and WAN routers
(features/route_filters.py)."""

from __future__ import annotations

import ipaddress

from countynet.intent.facts import Facts
from countynet.intent.features.nat import inbound_pool
from countynet.intent.features.route_filters import area_prefixes, area_ranges, import_filter
from countynet.intent.models import AuthKey, Ospf, OspfArea
from countynet.intent.parts import Layout
from countynet.intent.plan import BACKBONE, DevicePlan, area_id
from countynet.ipam.addr import ip


def ospf(dev: DevicePlan, facts: Facts, layout: Layout) -> Ospf | None:
    """The device's OSPF process, or None for a device that runs none (servers, access switches, VPN villages,
    anything without an OSPF interface)."""
    if dev.role in ("server", "access_switch"):
        return None
    r = facts.topo.county.routing
    areas = {a: OspfArea(id=a) for a in layout.areas}
    if dev.role == "wan":  # the ABR of the township and unit areas: it summarises them
        for tw in facts.townships.values():
            a = area_id(tw.area)
            if a in areas:
                areas[a] = OspfArea(id=a, type=r.township_area_type,
                                    ranges=area_ranges(facts, a),
                                    export_filter=area_prefixes(facts, a))
        ua = area_id(r.unit_area)
        if ua in areas:
            areas[ua] = OspfArea(id=ua, type=r.township_area_type,
                                 ranges=area_ranges(facts, ua),
                                 export_filter=area_prefixes(facts, ua))
    else:
        for a in list(areas):
            if a != BACKBONE:
                areas[a] = OspfArea(id=a, type=r.township_area_type)
    if not any(i.ospf for i in layout.interfaces) or (dev.role == "village_cpe" and not areas):
        return None
    out = Ospf(process=r.ospf_process, router_id=ip(facts.loopback(dev.name) or "0.0.0.0"),
               areas=sorted(areas.values(), key=lambda a: ipaddress.IPv4Address(a.id)), hello=r.ospf_hello,
               dead=r.ospf_dead, auth_keys=auth_keys(facts), import_filter=import_filter(dev, facts))
    if dev.role == "firewall":
        # the first firewall is the primary exit: NAT sessions and published services stay symmetric;
        # the second one takes over only when the first stops advertising its default
        out.default_originate = True
        out.default_metric = 1 if facts.firewalls.index(dev.name) == 0 else 100
        pool = inbound_pool(dev, facts)  # inbound source NAT (nat.py), a null route OSPF announces
        if pool:
            out.redistribute = ["static"]
            out.redistribute_prefixes = [pool]
    if dev.role == "vpn_hub":
        out.redistribute = ["static"]
        out.redistribute_prefixes = [s.prefix for s in layout.static if s.prefix != "0.0.0.0/0"]
    if dev.role == "city_edge" and layout.bgp:
        out.redistribute = ["bgp"]
        out.redistribute_prefixes = list(layout.bgp.neighbors[0].import_prefixes)
    return out


def auth_keys(facts: Facts) -> list[AuthKey]:
    """The county's OSPF keys, the send key first (the first key unless `ospf_send_key` names another)."""
    r = facts.topo.county.routing
    keys = [AuthKey(id=k.id, secret=k.secret) for k in r.ospf_keys]
    send = r.ospf_send_key if r.ospf_send_key is not None else (keys[0].id if keys else None)
    return sorted(keys, key=lambda k: k.id != send)
