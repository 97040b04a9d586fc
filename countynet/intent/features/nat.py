"""NAT at the internet-edge firewalls: source NAT for the zones the policy lets out, one static NAT per
published service, and on every internet exit after the primary an inbound source NAT of those services.
The policy is read once, through :attr:`Facts.exposure` (the compiler's active rules).

Why inbound source NAT (docs/design.md "Dual ISP"): the cores send every packet bound for the internet to the
primary firewall (the lower OSPF default cost). A connection published by another firewall would be answered
through the primary one, which has no session for it. Translating the source of those connections to a pool of
the firewall's own (an IPAM block, announced into OSPF as a null route) makes the replies come back to it."""

from __future__ import annotations

import ipaddress

from countynet.intent.facts import Facts
from countynet.intent.models import InboundNat, Nat, StaticNat, StaticRoute
from countynet.intent.parts import NOTHING, Layout, Part
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import host, ip

FIRST_PUBLISHED = 3  # .1 is the provider, .2 the firewall: published servers take .3, .4, ...
POOL = "inbound_nat"  # the IPAM pool of the inbound source NAT blocks (county.yaml pools)


def inbound_pool(dev: DevicePlan, facts: Facts) -> str | None:
    """The firewall's inbound source NAT block from IPAM, or None (the primary exit, or no such pool)."""
    if dev.role != "firewall" or not facts.exposure.published:
        return None
    return facts.alloc.addresses.get(POOL, {}).get(dev.name)


def inbound_nat_route(dev: DevicePlan, facts: Facts) -> Part:
    """Layout feature: the null route of the firewall's inbound NAT block, which OSPF redistributes (the
    firewall answers for the block; translated replies never reach the null route, NAT reverses them first)."""
    pool = inbound_pool(dev, facts)
    if pool is None:
        return NOTHING
    return Part(static=(StaticRoute(prefix=pool, interface="null", description="inbound source NAT pool"),))


def nat(dev: DevicePlan, facts: Facts, layout: Layout) -> Nat | None:
    """A firewall's NAT on its internet port (the uplink marked nat_outside), or None."""
    if dev.role != "firewall":
        return None
    out = next((i for i in layout.interfaces if i.nat_outside), None)
    if out is None or out.address is None:
        return None
    t, exp = facts.topo, facts.exposure
    inside = [facts.address("centre_zone", z.name) for z in t.centre.zones if z.security_zone in exp.to_internet]
    kinds = {t.policy.zones[z].kind for z in exp.to_internet if z in t.policy.zones}
    if "unit-lan" in kinds:
        inside.append(t.county.pools.unit_lan.prefix or "")
    if "township-lan" in kinds:
        inside.append(t.county.pools.township_lan_block.prefix or "")
    hosts = sorted({h for h, _, _ in exp.published})
    public = {h: ip(host(out.address, FIRST_PUBLISHED + n)) for n, h in enumerate(hosts)}
    static = [StaticNat(name=f"{h}-{proto}{port}", inside=ip(facts.address("zone_host", h)), outside=public[h],
                        protocol=proto, port=port) for h, proto, port in exp.published]
    pool = inbound_pool(dev, facts)  # None unless a service is published
    inbound = None
    if pool:
        addrs = list(ipaddress.IPv4Network(pool).hosts())
        inbound = InboundNat(pool=pool, first=str(addrs[0]), last=str(addrs[-1]))
    return Nat(outside_interface=out.name, inside_networks=sorted(set(inside)), static=static, inbound=inbound)
