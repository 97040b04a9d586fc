"""Compile the security policy into per-device filters (ACLs) and bind them to interfaces.

Enforcement points, and why:
* every LAN gateway (centre zone SVIs on both cores, township switch SVIs, village CPE and unit router LAN
  interfaces) filters what *enters from its LAN*: traffic the policy allows out of the zone, replies of
  flows the policy allows into the zone, DHCP and link-local multicast, then an explicit final deny
  (Huawei traffic-filter permits unmatched packets, so the deny is written, never implied);
* the internet-edge firewalls filter what goes *from the internet inwards* (outbound on the inside port,
  after NAT has put back the real address);
* the city edge filters what enters from the city network.
Stateless platforms get replies as `established` TCP or source-port matches; Linux (nftables) is stateful.
Written here rather than with Aerleon because Aerleon has no Huawei/H3C generator and the zone membership
comes from our intent, not from a definitions file; the rule model follows Aerleon's (terms, expiry).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from countynet.errors import Diagnostic
from countynet.intent.models import AclRule, DeviceIntent, Filter
from countynet.intent.policy.rules import active_rules
from countynet.intent.policy.zones import ANY, Net, ZoneMap, collapse, zone_map
from countynet.topology.policy_models import PolicyFile, Rule, parse_port

MULTICAST = ipaddress.IPv4Network("224.0.0.0/4")
_OWN = ipaddress.IPv4Network("255.255.255.255/32")  # placeholder for a LAN's own subnet in cached lines
ACL_BASE = 3000


@dataclass(frozen=True)
class Term:
    """A permit line before numbering: protocol, source, destination, ports, direction of the flow."""

    protocol: str
    source: Net
    destination: Net
    lo: int | None = None
    hi: int | None = None
    reply: bool = False
    remark: str = ""
    action: str = "permit"

    def to_rule(self, seq: int) -> AclRule:
        ports: dict[str, int | None] = {}
        if self.protocol in ("tcp", "udp") and self.lo is not None:
            if self.reply:
                ports = {"source_port_min": self.lo, "source_port_max": self.hi}
            else:
                ports = {"port_min": self.lo, "port_max": self.hi}
        fields: dict[str, Any] = {"port_min": None, "port_max": None, "source_port_min": None,
                                  "source_port_max": None, **ports}
        # model_construct: every value comes from validated input; validating 14,000 lines again is slow
        return AclRule.model_construct(seq=seq, action=self.action, protocol=self.protocol,  # type: ignore[arg-type]
                                       source=str(self.source), destination=str(self.destination),
                                       established=self.reply and self.protocol == "tcp", remark=self.remark,
                                       **fields)


def _ports(policy: PolicyFile, services: Iterable[str]) -> list[tuple[str, int | None, int | None]]:
    """(protocol, low, high) of each service; `parse_port` is cached, the policy is validated already."""
    out: list[tuple[str, int | None, int | None]] = []
    for s in services:
        for spec in policy.services[s].ports:
            proto, lo, hi = parse_port(spec)
            out.append((proto, lo, hi) if proto != "icmp" else ("icmp", None, None))
    return out


def host_prefixes(intents: dict[str, DeviceIntent], hosts: list[str]) -> list[Net]:
    out = []
    for h in hosts:
        d = intents.get(h)
        if d is None:
            continue
        addr = next((i.address for i in d.interfaces if i.address and i.kind != "loopback"), None)
        if addr:
            out.append(ipaddress.IPv4Network(f"{addr.split('/')[0]}/32"))
    return out


class Compiler:
    def __init__(self, intents: dict[str, DeviceIntent], policy: PolicyFile, internal: list[Net],
                 today: dt.date | None = None):
        self.intents = intents
        self.policy = policy
        self.zm: ZoneMap = zone_map(intents, policy, internal)
        self.rules = active_rules(policy, today)
        self.internal = internal
        self._dest_cache: dict[tuple[str, str], list[Net]] = {}
        self._lan_cache: dict[tuple[object, ...], list[AclRule]] = {}
        self._tw_scoped = any(r.scope and r.scope.township for r in self.rules)
        self._unit_scoped = any(r.scope and r.scope.unit for r in self.rules)

    def _dest(self, r: Rule, zone: str) -> list[Net]:
        """Destination prefixes of rule `r` inside `zone` (its hosts when it names some)."""
        key = (r.name, zone)
        if key not in self._dest_cache:
            self._dest_cache[key] = self._dest_uncached(r, zone)
        return self._dest_cache[key]

    def _dest_uncached(self, r: Rule, zone: str) -> list[Net]:
        if r.destination_hosts:
            hosts = host_prefixes(self.intents, r.destination_hosts)
            return [h for h in hosts if self.zm.zone_of(str(h.network_address)) == zone]
        return self.zm.prefixes(zone, *self.scope_for(r, zone))

    def _src(self, r: Rule, zone: str) -> list[Net]:
        return self.zm.prefixes(zone, *self.scope_for(r, zone))

    def scope_for(self, r: Rule, zone: str) -> tuple[str | None, str | None]:
        """A scope narrows only the zones it speaks of: a township scope its township and village LANs,
        a unit scope its unit LAN; every other zone of the rule stays whole."""
        if r.scope is None:
            return None, None
        kind = self.zm.kinds[zone]
        return (r.scope.township if kind in ("township-lan", "village-lan") else None,
                r.scope.unit if kind == "unit-lan" else None)

    def _in_scope(self, r: Rule, zone: str, township: str | None, unit: str | None) -> bool:
        want_tw, want_unit = self.scope_for(r, zone)
        return (want_tw is None or want_tw == township) and (want_unit is None or want_unit == unit)

    def ingress_rules(self, zone: str, own: Net, township: str | None, unit: str | None,
                      dhcp: bool, gateways: list[Net]) -> list[AclRule]:
        """Numbered lines for the filter on a gateway interface of `zone` whose subnet is `own`.

        The hundreds of unit, township and village LANs differ only in their own subnet and gateway, so
        their lines are computed once per (zone, township, unit, dhcp, gateways) with placeholders and then
        filled in; centre zones (a handful) are computed directly."""
        if self.zm.kinds[zone] == "centre":
            return _numbered(self._ingress_terms(zone, own, township, unit, dhcp, gateways, member=False))
        # township/unit matter only when some rule is scoped to one; otherwise all LANs of a zone share lines
        key = (zone, township if self._tw_scoped else None, unit if self._unit_scoped else None, dhcp,
               len(gateways))
        if key not in self._lan_cache:
            gws = [ipaddress.IPv4Network(f"255.255.255.{250 - n}/32") for n in range(len(gateways))]
            terms = self._ingress_terms(zone, _OWN, township, unit, dhcp, gws, member=True)
            self._lan_cache[key] = _numbered(terms)
        fill = {str(_OWN): str(own), **{f"255.255.255.{250 - n}/32": str(g) for n, g in enumerate(gateways)}}
        return [filled(r, fill) for r in self._lan_cache[key]]

    def _ingress_terms(self, zone: str, own: Net, township: str | None, unit: str | None, dhcp: bool,
                       gateways: list[Net], member: bool) -> list[Term]:
        inner: list[Term] = []
        outer: list[Term] = []
        if dhcp:
            inner.append(Term("udp", ANY, ANY, 67, 68, remark="dhcp"))
        inner.append(Term("ip", own, MULTICAST, remark="link-local multicast (VRRP, OSPF)"))
        for gw in gateways:
            inner.append(Term("icmp", own, gw, remark="ping the gateway (troubleshooting)"))
        for r in self.rules:
            if zone in r.source and self._in_scope(r, zone, township, unit):
                for dz in r.destination:
                    kind = self.zm.kinds[dz]
                    for dst in self._dest(r, dz) if kind != "internet" else [ANY]:
                        for proto, lo, hi in _ports(self.policy, r.services):
                            t = Term(proto, own, dst, lo, hi, remark=r.name)
                            (outer if kind == "internet" else inner).append(t)
            mine = self._dest(r, zone) if zone in r.destination else []
            if mine and (self._in_scope(r, zone, township, unit) if member else any(
                    m.subnet_of(own) or own.subnet_of(m) for m in mine)):
                for sz in r.source:
                    internet = self.zm.kinds[sz] == "internet"
                    for src in self._src(r, sz):
                        # replies to the internet go after the internal denies, like requests to it
                        (outer if internet else inner).extend(_replies(self.policy, r, own, src))
        terms = _dedupe(inner)
        if outer:
            internal = collapse([*self.internal, *[n for z in self.zm.external.values() for n in z]])
            terms += [Term("ip", own, n, remark="no other internal destination", action="deny") for n in internal]
            terms += _dedupe(outer)
        return terms

    def internet_terms(self) -> list[Term]:
        """Filter at the firewall: what may go from the internet to the inside."""
        internet = next(z for z, k in self.zm.kinds.items() if k == "internet")
        terms: list[Term] = []
        for r in self.rules:
            if internet in r.source:
                for dz in r.destination:
                    for dst in self._dest(r, dz):
                        for proto, lo, hi in _ports(self.policy, r.services):
                            terms.append(Term(proto, ANY, dst, lo, hi, remark=r.name))
            if internet in r.destination:
                for sz in r.source:
                    for src in self._src(r, sz):
                        terms.extend(_replies(self.policy, r, ANY, src))
        return _dedupe(terms)

    def city_terms(self, peer: Net, local: Net) -> list[Term]:
        city = next(z for z, k in self.zm.kinds.items() if k == "city")
        terms = [Term("ip", peer, local, remark="BGP session with the city network")]
        for r in self.rules:
            if city in r.source:
                for dz in r.destination:
                    for dst in self._dest(r, dz):
                        for src in self.zm.prefixes(city):
                            for proto, lo, hi in _ports(self.policy, r.services):
                                terms.append(Term(proto, src, dst, lo, hi, remark=r.name))
            if city in r.destination:
                for sz in r.source:
                    for dst in self._src(r, sz):
                        for src in self.zm.prefixes(city):
                            terms.extend(_replies(self.policy, r, src, dst))
        return _dedupe(terms)


def _replies(policy: PolicyFile, r: Rule, src: Net, dst: Net) -> list[Term]:
    """Return traffic of rule `r` from `src` (where the service runs) back to `dst` (the clients):
    one `established` line for all of its TCP, one source-port line per UDP service, one for ICMP."""
    out = []
    for proto, lo, hi in _ports(policy, r.services):
        if proto == "tcp":
            out.append(Term("tcp", src, dst, reply=True, remark=f"{r.name} (replies)"))
        elif proto == "udp":
            out.append(Term("udp", src, dst, lo, hi, True, remark=f"{r.name} (replies)"))
        else:
            out.append(Term("icmp", src, dst, reply=True, remark=f"{r.name} (replies)"))
    return out


def _dedupe(terms: list[Term]) -> list[Term]:
    seen: set[tuple] = set()
    out = []
    for t in terms:
        key = (t.protocol, t.source, t.destination, t.lo, t.hi, t.reply, t.action)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def filled(rule: AclRule, fill: dict[str, str]) -> AclRule:
    """A copy of a cached line with its placeholder addresses filled in.

    Built directly from the template's field values (which pydantic validated or constructed already):
    `model_construct` costs ~9 us a line and a province build makes 1.4 million lines. A test checks the
    result equals a validated model."""
    if rule.source not in fill and rule.destination not in fill:
        return rule  # immutable in practice: shared lines (DHCP, multicast, final deny) are never edited
    out = object.__new__(AclRule)
    values = dict(rule.__dict__)
    values["source"] = fill.get(rule.source, rule.source)
    values["destination"] = fill.get(rule.destination, rule.destination)
    object.__setattr__(out, "__dict__", values)
    object.__setattr__(out, "__pydantic_fields_set__", rule.__pydantic_fields_set__)
    object.__setattr__(out, "__pydantic_extra__", None)
    object.__setattr__(out, "__pydantic_private__", None)
    return out


def _numbered(terms: list[Term]) -> list[AclRule]:
    """Lines numbered 5, 10, ... with the explicit final deny."""
    rules = [t.to_rule(5 * (n + 1)) for n, t in enumerate(terms)]
    rules.append(AclRule(seq=5 * (len(rules) + 1), action="deny", protocol="ip", source="0.0.0.0/0",
                         destination="0.0.0.0/0", remark="default deny (policy)"))
    return rules


def _filter(name: str, number: int, rules: list[AclRule]) -> Filter:
    return Filter.model_construct(name=name, number=number, rules=rules)


LAN_ROLES = {"core", "township_switch", "village_cpe", "unit_router"}


def apply_policy(intents: dict[str, DeviceIntent], policy: PolicyFile, internal: list[Net],
                 today: dt.date | None = None) -> tuple[dict[str, DeviceIntent], list[Diagnostic]]:
    """Return new intents with filters bound to their enforcement points."""
    comp = Compiler(intents, policy, internal, today)
    out: dict[str, DeviceIntent] = {}
    lan_kinds = {"centre", "unit-lan", "township-lan", "village-lan"}
    for host, d in intents.items():
        filters: list[Filter] = []
        ifaces = []
        dhcp_ifs = {p.interface for p in d.dhcp}
        for i in d.interfaces:
            upd: dict[str, str] = {}
            kind = comp.zm.kinds.get(i.zone or "")
            if d.role in LAN_ROLES and kind in lan_kinds and i.address and i.kind in ("svi", "routed"):
                own = ipaddress.IPv4Interface(i.address).network
                gws = [ipaddress.IPv4Network(f"{a}/32") for a in
                       [i.address.split("/")[0], *([i.vrrp.vip] if i.vrrp else [])]]
                rules = comp.ingress_rules(i.zone or "", own, d.township, d.unit, i.name in dhcp_ifs, gws)
                name = f"CN-FROM-{(i.zone or '').upper()}-{len(filters) + 1}"
                filters.append(_filter(name, ACL_BASE + len(filters), rules))
                upd["acl_in"] = name
            elif d.role == "firewall" and i.peer and i.kind == "routed" and not i.nat_outside:
                name = "CN-FROM-INTERNET"
                if not any(f.name == name for f in filters):
                    filters.append(_filter(name, ACL_BASE + len(filters), _numbered(comp.internet_terms())))
                upd["acl_out"] = name
            elif d.role == "city_edge" and kind == "city" and i.address and d.routing.bgp:
                peer = ipaddress.IPv4Network(f"{d.routing.bgp.neighbors[0].address}/32")
                local = ipaddress.IPv4Network(f"{i.address.split('/')[0]}/32")
                name = "CN-FROM-CITY"
                filters.append(_filter(name, ACL_BASE + len(filters), _numbered(comp.city_terms(peer, local))))
                upd["acl_in"] = name
            ifaces.append(i.model_copy(update=upd) if upd else i)
        out[host] = d.model_copy(update={"filters": filters, "interfaces": ifaces}) if filters else d
    return out, []
