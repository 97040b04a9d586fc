"""NAT at the internet-edge firewalls: source NAT for the zones the policy lets out, one static NAT per
published service. The policy is read once, through :attr:`Facts.exposure` (the compiler's active rules)."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Nat, StaticNat
from countynet.intent.parts import Layout
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import host, ip

FIRST_PUBLISHED = 3  # .1 is the provider, .2 the firewall: published servers take .3, .4, ...


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
    return Nat(outside_interface=out.name, inside_networks=sorted(set(inside)),
               static=[StaticNat(name=f"{h}-{proto}{port}", inside=ip(facts.address("zone_host", h)),
                                 outside=public[h], protocol=proto, port=port)
                       for h, proto, port in exp.published])
