"""OSPF route filters (issue 10, part 4): what a router accepts from the routers below it, and what an area may
announce to the rest of the county.

OSPF floods every LSA through an area, so a village router can announce any prefix (a centre server's /32,
another township's LAN) into its township's area. Two filters keep such a prefix out of the routing tables
that matter (docs/security.md "Routing security"):

- **import filter** (`filter-policy ... import`, FRR `ip protocol ospf route-map`): a township router accepts
  from a village link only the village's own prefixes (its LAN, its loopback, the link), matched by prefix AND
  the village's next hop; a WAN router accepts from a township router only its township's area, from a unit
  router only the unit's prefixes. Routes through any other neighbour (the township switch, the centre) are
  kept: those are the county's own routers.
- **area export filter** on the ABR (`filter ... export`, FRR `area N filter-list prefix X out`): an area
  announces into area 0 only its summary ranges and the loopbacks and links of the routers in it.

Each list entry admits the prefix or any longer prefix inside it (`greater-equal <len> less-equal 32`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from countynet.intent.facts import Facts
from countynet.intent.models import RouteFilterRule
from countynet.intent.plan import BACKBONE, DevicePlan, LinkPlan, area_id
from countynet.ipam.addr import host, ip

BLOCKS = ("township_lan_block", "township_link_block", "village_block")  # a township's summaries


def _sorted(prefixes: Iterable[str]) -> list[str]:
    """Distinct prefixes in address order, none covered by another of the list."""
    nets = sorted({ipaddress.IPv4Network(p) for p in prefixes}, key=lambda n: (n.network_address, n.prefixlen))
    kept: list[ipaddress.IPv4Network] = []
    for n in nets:  # a covering prefix sorts before what it covers, and kept prefixes are disjoint: check the last
        if not (kept and n.subnet_of(kept[-1])):
            kept.append(n)
    return [str(n) for n in kept]


def area_members(facts: Facts, area: str) -> list[str]:
    """The routers of a non-backbone area: every end of a link in it whose home area it is (not the ABR)."""
    out = set()
    for lp in facts.links:
        if lp.area == area:
            for end in (lp.a, lp.b):
                d = facts.devices[end.device]
                if facts.home_area(d) == area:
                    out.add(d.name)
    return sorted(out)


def area_ranges(facts: Facts, area: str) -> list[str]:
    """The summary ranges the design names for a non-backbone area (its township's blocks, or the unit pool)."""
    for tw in facts.townships.values():
        if area_id(tw.area) == area:
            return [facts.address(b, tw.id) for b in BLOCKS]
    if area == area_id(facts.topo.county.routing.unit_area):
        return [facts.topo.county.pools.unit_lan.prefix or ""]
    return []


def area_prefixes(facts: Facts, area: str) -> list[str]:
    """What an area may announce to the others: its ranges, its routers' loopbacks and its links' prefixes."""
    out = list(area_ranges(facts, area))
    out += [lo for m in area_members(facts, area) if (lo := facts.loopback(m))]
    out += [facts.address(lp.pool, lp.id) for lp in facts.links if lp.area == area and lp.pool]
    return _sorted(out)


def own_prefixes(facts: Facts, d: DevicePlan, lp: LinkPlan) -> list[str]:
    """A leaf router's own prefixes: its loopback, its LAN and the link it hangs on."""
    out = [facts.loopback(d.name) or ""]
    if d.role == "village_cpe" and d.township and d.village:
        out.append(facts.address("village_lan", f"{d.township}/{d.village}"))
    elif d.role == "unit_router" and d.unit:
        out.append(facts.address("unit_lan", d.unit))
    if lp.pool:
        out.append(facts.address(lp.pool, lp.id))
    return _sorted(p for p in out if p)


def _behind(dev: DevicePlan, other: DevicePlan, facts: Facts, lp: LinkPlan) -> list[str] | None:
    """What `dev` accepts through `other`, or None when `other` is one of the county's own routers."""
    if dev.role == "township_router" and other.role == "village_cpe":
        return own_prefixes(facts, other, lp)
    if dev.role == "wan" and other.role == "unit_router":
        return own_prefixes(facts, other, lp)
    if dev.role == "wan" and other.role == "township_router":
        return area_prefixes(facts, facts.home_area(other))
    return None


def import_filter(dev: DevicePlan, facts: Facts) -> list[RouteFilterRule]:
    """The device's OSPF import rules, one per untrusted neighbour in link order (empty for other roles)."""
    rules: dict[str, RouteFilterRule] = {}
    for lp, side in facts.ends.get(dev.name, ()):
        if lp.type != "routed" or not lp.pool or lp.area in (None, BACKBONE):
            continue
        other = facts.devices[(lp.b if side == "a" else lp.a).device]
        allowed = _behind(dev, other, facts, lp)
        if allowed is None:
            continue
        nh = ip(host(facts.address(lp.pool, lp.id), 2 if side == "a" else 1))
        if other.name in rules:
            r = rules[other.name]
            rules[other.name] = r.model_copy(update={"next_hops": [*r.next_hops, nh],
                                                     "prefixes": _sorted([*r.prefixes, *allowed])})
        else:
            rules[other.name] = RouteFilterRule(peer=other.name, next_hops=[nh], prefixes=allowed)
    return list(rules.values())
