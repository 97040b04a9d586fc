"""eBGP with the city network on the city edge: the county's summary out, the city's prefixes in."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Bgp, BgpNeighbor, StaticRoute
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import ip


def bgp(dev: DevicePlan, facts: Facts) -> Part:
    """The city edge's BGP session on its city uplink, and the discard routes that anchor the summary."""
    up = next((u for u in facts.uplinks.get(dev.name, ()) if u.kind == "city"), None)
    if dev.role != "city_edge" or up is None:
        return NOTHING
    aggs = [str(n) for n in facts.aggregates]
    r = facts.topo.county.routing
    return Part(
        bgp=Bgp(asn=r.asn, router_id=ip(facts.loopback(dev.name) or "0.0.0.0"), networks=aggs,
                neighbors=[BgpNeighbor(address=up.peer, remote_as=up.peer_asn or 0, description=up.name,
                                       import_prefixes=list(up.receive), export_prefixes=aggs,
                                       auth_secret=r.bgp_key, max_prefixes=r.bgp_max_prefixes,
                                       ttl_hops=r.bgp_ttl_hops)]),
        static=tuple(StaticRoute(prefix=agg, interface="null", description="aggregate for BGP") for agg in aggs))
