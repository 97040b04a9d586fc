"""Compile the security policy into per-device filters (ACLs) and bind them to interfaces.

Enforcement points, and why:
* every LAN gateway (centre zone SVIs on both cores, township switch SVIs, village CPE and unit router LAN
  interfaces) filters what *enters from its LAN*: traffic the policy allows out of the zone, replies of
  flows the policy allows into the zone, DHCP and link-local multicast, then an explicit final deny
  (Huawei traffic-filter permits unmatched packets, so the deny is written, never implied);
* the internet-edge firewalls filter what goes *from the internet inwards* (outbound on the inside port,
  after NAT has put back the real address);
* the city edge filters what enters from the city network;
* transit filters (attacker model): the WAN aggregation, township routers and the cores' links to the VPN hub
  filter what enters from a site link to exactly what the LANs and devices behind that link may send (each
  LAN's own lines with its own prefix as the source, each device loopback's management lines, and the
  routing protocol of the link), so a replaced or compromised site device reaches no more than its LANs do.
Deny rules take precedence: on every filter they touch their lines come before the allow lines (towards
the internet: after the internal denies, before the internet allows). Stateless platforms get replies as
exactly the service's reply (source port = the service port, `established` for TCP, to the clients'
prefixes only, from the servers' addresses only); Linux (nftables) is stateful.
Written here rather than with Aerleon because Aerleon has no Huawei/H3C generator and the zone membership
comes from our intent, not from a definitions file; the rule model follows Aerleon's (terms, expiry).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from countynet import platforms
from countynet.errors import Diagnostic
from countynet.intent.models import AclRule, DeviceIntent, Filter
from countynet.intent.policy.numbering import AclNumbers, replaced
from countynet.intent.policy.remarks import DHCP, FINAL_DENY, REPLIES
from countynet.intent.policy.rules import active_rules
from countynet.intent.policy.zones import ANY, Member, Net, ZoneMap, collapse, zone_map
from countynet.topology.policy_models import ICMP_REPLIES, PolicyFile, Rule, parse_port

MULTICAST = ipaddress.IPv4Network("224.0.0.0/4")
_OWN = ipaddress.IPv4Network("255.255.255.254/32")  # placeholder for a LAN's own subnet in cached lines
BROADCAST = ipaddress.IPv4Network("255.255.255.255/32")
UNSPECIFIED = ipaddress.IPv4Network("0.0.0.0/32")
# tiers of the tree below the cores: a transit filter goes on a device's link towards a deeper site device
RANK = {"core": 0, "wan": 1, "vpn_hub": 1, "firewall": 1, "city_edge": 1, "township_router": 2,
        "unit_router": 2, "township_switch": 3, "village_cpe": 4}
SITE_ROLES = {"township_router", "unit_router", "township_switch", "village_cpe"}


@dataclass(frozen=True)
class Term:
    """A permit line before numbering: protocol, source, destination, ports (for icmp: `lo` the ICMP type,
    `hi` the code, None every), direction of the flow."""

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
        if self.protocol == "icmp":  # lo/hi of an icmp term are its type and code (None: every)
            ports = {"icmp_type": self.lo, "icmp_code": self.hi}
        elif self.protocol in ("tcp", "udp") and self.lo is not None:
            if self.reply:
                ports = {"source_port_min": self.lo, "source_port_max": self.hi}
            else:
                ports = {"port_min": self.lo, "port_max": self.hi}
        fields: dict[str, Any] = {"port_min": None, "port_max": None, "source_port_min": None,
                                  "source_port_max": None, "icmp_type": None, "icmp_code": None, **ports}
        # model_construct: every value comes from validated input; validating 14,000 lines again is slow
        return AclRule.model_construct(seq=seq, action=self.action, protocol=self.protocol,  # type: ignore[arg-type]
                                       source=str(self.source), destination=str(self.destination),
                                       established=self.reply and self.protocol == "tcp", remark=self.remark,
                                       **fields)


def _ports(policy: PolicyFile, services: Iterable[str]) -> list[tuple[str, int | None, int | None]]:
    """(protocol, low, high) of each service: the port range for tcp/udp, the ICMP type and code for icmp
    (None: every type / code); `parse_port` is cached, the policy is validated already."""
    out: list[tuple[str, int | None, int | None]] = []
    for s in services:
        for spec in policy.services[s].ports:
            proto, lo, hi = parse_port(spec)
            out.append((proto, lo, hi) if proto != "icmp" else ("icmp", *policy.services[s].icmp()))
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
        self.denies = active_rules(policy, today, "deny")
        self.internal = internal
        self._dest_cache: dict[tuple[str, str, str], list[Net]] = {}
        self._lan_cache: dict[tuple[object, ...], list[AclRule]] = {}
        self._block_cache: dict[tuple[object, ...], list[Term]] = {}
        every = [*self.rules, *self.denies]
        self._tw_scoped = any(r.scope and r.scope.township for r in every)
        self._unit_scoped = any(r.scope and r.scope.unit for r in every)
        self._adjacent: dict[str, set[str]] | None = None
        self._members_of: dict[str, list[tuple[str, Member]]] | None = None

    def _dest(self, r: Rule, zone: str) -> list[Net]:
        """Destination prefixes of rule `r` inside `zone` (its hosts when it names some)."""
        return self._side(r, zone, "to", r.destination_hosts)

    def _src(self, r: Rule, zone: str) -> list[Net]:
        """Source prefixes of rule `r` inside `zone` (its source hosts when it names some)."""
        return self._side(r, zone, "from", r.source_hosts)

    def _side(self, r: Rule, zone: str, side: str, hosts: list[str]) -> list[Net]:
        key = (f"{r.action}:{r.name}", zone, side)
        if key not in self._dest_cache:
            if hosts:
                nets = host_prefixes(self.intents, hosts)
                self._dest_cache[key] = [h for h in nets if self.zm.zone_of(str(h.network_address)) == zone]
            else:
                self._dest_cache[key] = self.zm.prefixes(zone, *self.scope_for(r, zone))
        return self._dest_cache[key]

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
                       gateways: list[Net], member: bool, transit: bool = False) -> list[Term]:
        """Lines of the filter for what enters from `own` (a segment of `zone`): infrastructure, deny rules,
        allow rules and replies; towards the internet after a deny of every other internal destination.
        `transit` leaves out the link-local lines (the filter sits on a link, not on the segment)."""
        head: list[Term] = []
        inner: dict[str, list[Term]] = {"deny": [], "permit": []}
        outer: dict[str, list[Term]] = {"deny": [], "permit": []}
        if dhcp:  # a client asks the gateway (the DHCP server): broadcast from 0.0.0.0 or itself, renewal unicast
            head.append(Term("udp", UNSPECIFIED, BROADCAST, 67, 67, remark=DHCP))
            head.append(Term("udp", own, BROADCAST, 67, 67, remark=DHCP))
            head.extend(Term("udp", own, gw, 67, 67, remark=DHCP) for gw in gateways[:1])
        if not transit:
            head.append(Term("ip", own, MULTICAST, remark="link-local multicast (VRRP, OSPF)"))
        for gw in gateways:
            head.append(Term("icmp", own, gw, remark="ping the gateway (troubleshooting)"))
        for rules, action in ((self.denies, "deny"), (self.rules, "permit")):
            for r in rules:
                if zone in r.source and self._in_scope(r, zone, township, unit):
                    srcs = [own] if member or not r.source_hosts else \
                        [h for h in self._src(r, zone) if h.subnet_of(own)]
                    for dz in r.destination:
                        kind = self.zm.kinds[dz]
                        for src in srcs:
                            for dst in self._dest(r, dz) if kind != "internet" else [ANY]:
                                for proto, lo, hi in _ports(self.policy, r.services):
                                    t = Term(proto, src, dst, lo, hi, remark=r.name, action=action)
                                    (outer if kind == "internet" else inner)[action].append(t)
                mine = self._dest(r, zone) if zone in r.destination else []
                if not mine:
                    continue
                if member:  # a LAN: the rule's part of the zone is the whole LAN when the LAN is in scope
                    servers = [own] if self._in_scope(r, zone, township, unit) else []
                else:  # a centre segment: replies come only from the rule's hosts (or prefixes) inside it
                    servers = [m for m in mine if m.subnet_of(own) and m != own] + \
                        ([own] if any(own.subnet_of(m) for m in mine) else [])
                for srv in servers:
                    for sz in r.source:
                        internet = self.zm.kinds[sz] == "internet"
                        for src in self._src(r, sz):
                            # replies to the internet go after the internal denies, like requests to it
                            (outer if internet else inner)[action].extend(_replies(self.policy, r, srv, src, action))
                        # ... except to a firewall's inbound source NAT pool: internal, so before those denies
                        for pool in self.zm.external.get(sz, []) if internet else []:
                            inner[action].extend(_replies(self.policy, r, srv, pool, action))
        terms = _dedupe([*head, *inner["deny"], *inner["permit"]])
        if outer["permit"] or outer["deny"]:
            internal = collapse([*self.internal, *[n for z in self.zm.external.values() for n in z]])
            terms += [Term("ip", own, n, remark="no other internal destination", action="deny") for n in internal]
            terms += _dedupe([*outer["deny"], *outer["permit"]])
        return terms

    # -- transit filters (attacker model) ------------------------------------------------------------------

    def transit_peer(self, d: DeviceIntent, i: Any) -> str | None:
        """The site device behind routed interface `i` of `d` when `i` needs a transit filter, else None."""
        if not (i.peer and i.kind in ("routed", "svi") and i.address and not i.zone and d.role in RANK):
            return None
        p = self.intents.get(i.peer.host)
        if p is None or p.role not in SITE_ROLES or RANK[p.role] <= RANK[d.role]:
            return None
        return str(i.peer.host)

    def behind(self, host: str, peer: str) -> set[str]:
        """`peer` and every device reached from it through deeper tiers than `host` (VPN spokes count as
        linked to their hub): what sends through `host`'s link to `peer`."""
        if self._adjacent is None:
            adj: dict[str, set[str]] = defaultdict(set)
            for h, d in self.intents.items():
                for i in d.interfaces:
                    if i.peer and i.peer.host in self.intents:
                        adj[h].add(i.peer.host)
                        adj[i.peer.host].add(h)
                if d.vpn and d.vpn.role == "spoke":
                    for vp in d.vpn.peers:
                        if vp.name in self.intents:
                            adj[h].add(vp.name)
                            adj[vp.name].add(h)
            self._adjacent = adj
        limit = RANK[self.intents[host].role]
        seen, stack = {peer}, [peer]
        while stack:
            n = stack.pop()
            for m in self._adjacent.get(n, ()):
                if m not in seen and RANK.get(self.intents[m].role, -1) > limit:
                    seen.add(m)
                    stack.append(m)
        return seen

    def _block(self, zone: str, township: str | None, unit: str | None) -> list[Term]:
        """What a segment of `zone` may send (its own prefix as the placeholder `_OWN`), without link-local
        lines: the piece of a transit filter for one LAN or device loopback."""
        key = (zone, township, unit)
        if key not in self._block_cache:
            self._block_cache[key] = self._ingress_terms(zone, _OWN, township, unit, False, [], member=True,
                                                         transit=True)
        return self._block_cache[key]

    def transit_terms(self, host: str, iface: Any) -> list[Term]:
        """Filter inbound on `host`'s link `iface` towards a site: the link peer's routing protocol, then,
        for every LAN and device loopback behind the link, exactly what it may send (from its own prefix)."""
        peer = self.intents[iface.peer.host]
        local = ipaddress.IPv4Network(f"{iface.address.split('/')[0]}/32")
        terms: list[Term] = []
        link = ipaddress.IPv4Interface(iface.address).network
        # the peer's address on this link (on a switch it sits on the SVI, not on the cabled port)
        peer_if = next((p for p in peer.interfaces if p.address and p.kind != "loopback"
                        and ipaddress.IPv4Interface(p.address).ip in link), None)
        if peer_if and peer_if.address:
            addr = ipaddress.IPv4Network(f"{peer_if.address.split('/')[0]}/32")
            terms += [Term("ip", addr, MULTICAST, remark="routing protocol (OSPF) of the link peer"),
                      Term("ip", addr, local, remark="routing adjacency with the link peer")]
        return _dedupe(terms + self.site_terms(self.behind(host, iface.peer.host)))

    def hub_terms(self, host: str) -> list[Term]:
        """Filter on the VPN hub for what its spokes send out of their tunnels (decapsulated packets enter
        by the outside interface): exactly what the spokes' LANs and loopbacks may send."""
        spokes = [h for h, d in self.intents.items()
                  if d.vpn and d.vpn.role == "spoke" and any(p.name == host for p in d.vpn.peers)]
        devices: set[str] = set()
        for sp in spokes:
            devices |= self.behind(host, sp)
        return self.site_terms(devices)

    def site_terms(self, devices: set[str]) -> list[Term]:
        """For every LAN and device loopback of `devices`, what it may send, with its own prefix as the
        source (segments that share their lines are collapsed into as few prefixes as possible)."""
        if self._members_of is None:
            by_dev: dict[str, list[tuple[str, Member]]] = defaultdict(list)
            for z, ms in self.zm.members.items():
                for m in ms:
                    by_dev[m.device].append((z, m))
            self._members_of = by_dev
        terms: list[Term] = []
        groups: dict[tuple[str, str | None, str | None], list[Net]] = defaultdict(list)
        for dev in sorted(devices):
            for zone, m in self._members_of.get(dev, []):
                if self.zm.kinds[zone] in ("internet", "city", "centre"):
                    continue
                key = (zone, m.township if self._tw_scoped else None, m.unit if self._unit_scoped else None)
                groups[key].append(m.prefix)
        own = str(_OWN)
        for (zone, tw, unit), nets in sorted(groups.items(), key=lambda kv: str(kv[0])):
            block = self._block(zone, tw, unit)
            for net in collapse(nets):
                terms += [dataclasses.replace(t, source=net if str(t.source) == own else t.source,
                                              destination=net if str(t.destination) == own else t.destination)
                          for t in block]
        return _dedupe(terms)

    def internet_terms(self) -> list[Term]:
        """Filter at the firewall: what may go from the internet to the inside (deny rules first)."""
        return self._outside_terms("internet", [])

    def city_terms(self, peer: Net, local: Net) -> list[Term]:
        """Filter at the city edge: the BGP session, then what the city may send in (deny rules first)."""
        return self._outside_terms("city", [Term("ip", peer, local, remark="BGP session with the city network")])

    def _outside_terms(self, kind: str, head: list[Term]) -> list[Term]:
        outside = next(z for z, k in self.zm.kinds.items() if k == kind)
        parts: dict[str, list[Term]] = {"deny": [], "permit": []}
        for rules, action in ((self.denies, "deny"), (self.rules, "permit")):
            for r in rules:
                if outside in r.source:
                    for dz in r.destination:
                        for dst in self._dest(r, dz):
                            for src in self._src(r, outside):
                                for proto, lo, hi in _ports(self.policy, r.services):
                                    parts[action].append(Term(proto, src, dst, lo, hi, remark=r.name, action=action))
                if outside in r.destination:
                    for sz in r.source:
                        for client in self._src(r, sz):
                            for srv in self._dest(r, outside):
                                parts[action].extend(_replies(self.policy, r, srv, client, action))
        return _dedupe([*head, *parts["deny"], *parts["permit"]])


def _replies(policy: PolicyFile, r: Rule, src: Net, dst: Net, action: str = "permit") -> list[Term]:
    """Return traffic of rule `r` from `src` (where the service runs) back to `dst` (the clients): exactly
    the service's reply, i.e. from the service port (TCP only `established`), one line per port range, and
    for an ICMP service its answer: echo-reply for echo (each ICMP query's reply type, with the request's
    code), every ICMP type for an untyped service, nothing for a type that is not a query (unreachable...)."""
    out = []
    for proto, lo, hi in _ports(policy, r.services):
        if proto == "icmp" and lo is not None:
            if lo not in ICMP_REPLIES:
                continue
            lo = ICMP_REPLIES[lo]
        out.append(Term(proto, src, dst, lo, hi, reply=True, remark=r.name + REPLIES, action=action))
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
    """A copy of a cached line with its placeholder addresses filled in (`numbering.replaced`: no re-validation
    of the template's already valid fields)."""
    if rule.source not in fill and rule.destination not in fill:
        return rule  # immutable in practice: shared lines (DHCP, multicast, final deny) are never edited
    return replaced(rule, source=fill.get(rule.source, rule.source),
                    destination=fill.get(rule.destination, rule.destination))


def _numbered(terms: list[Term]) -> list[AclRule]:
    """Lines in match order with the explicit final deny, numbered by position for now: `apply_policy` gives
    them their stable numbers (`countynet.intent.policy.numbering`) once the device's lines are filled in."""
    rules = [t.to_rule(n + 1) for n, t in enumerate(terms)]
    rules.append(AclRule(seq=len(rules) + 1, action="deny", protocol="ip", source="0.0.0.0/0",
                         destination="0.0.0.0/0", remark=FINAL_DENY))
    return rules


def _filter(name: str, number: int, rules: list[AclRule]) -> Filter:
    return Filter.model_construct(name=name, number=number, rules=rules)


LAN_ROLES = {"core", "township_switch", "village_cpe", "unit_router"}


def apply_policy(intents: dict[str, DeviceIntent], policy: PolicyFile, internal: list[Net],
                 today: dt.date | None = None, numbers: AclNumbers | None = None
                 ) -> tuple[dict[str, DeviceIntent], list[Diagnostic]]:
    """Return new intents with filters bound to their enforcement points, and warnings (filters renumbered).

    Line numbers are stable (`countynet.intent.policy.numbering`): `numbers` holds the ACL number lock read
    before the build and receives the new one (`numbers.new`) and any lock errors (`numbers.errors`); without
    it every filter is numbered afresh (with room between policy rules)."""
    numbers = numbers if numbers is not None else AclNumbers()
    comp = Compiler(intents, policy, internal, today)
    out: dict[str, DeviceIntent] = {}
    lan_kinds = {"centre", "unit-lan", "township-lan", "village-lan"}
    for host, d in intents.items():
        filters: list[Filter] = []
        acl = platforms.flavour(d.flavour).acl
        base = acl.filter_numbers[0]
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
                filters.append(_filter(name, base + len(filters), rules))
                upd["acl_in"] = name
            elif d.role == "firewall" and i.peer and i.kind == "routed" and not i.nat_outside:
                name = "CN-FROM-INTERNET"
                if not any(f.name == name for f in filters):
                    filters.append(_filter(name, base + len(filters), _numbered(comp.internet_terms())))
                upd["acl_out"] = name
            elif d.role == "city_edge" and kind == "city" and i.address and d.routing.bgp:
                peer = ipaddress.IPv4Network(f"{d.routing.bgp.neighbors[0].address}/32")
                local = ipaddress.IPv4Network(f"{i.address.split('/')[0]}/32")
                name = "CN-FROM-CITY"
                filters.append(_filter(name, base + len(filters), _numbered(comp.city_terms(peer, local))))
                upd["acl_in"] = name
            elif d.role == "vpn_hub" and kind == "internet" and d.vpn and d.vpn.role == "hub":
                name = f"CN-FROM-SPOKES-{len(filters) + 1}"
                filters.append(_filter(name, base + len(filters), _numbered(comp.hub_terms(host))))
                upd["acl_in"] = name
            elif comp.transit_peer(d, i):
                name = f"CN-FROM-SITE-{len(filters) + 1}"
                filters.append(_filter(name, base + len(filters), _numbered(comp.transit_terms(host, i))))
                upd["acl_in"] = name
            ifaces.append(i.model_copy(update=upd) if upd else i)
        if filters:
            filters = [_filter(f.name, f.number, numbers.number(host, f.name, f.rules, acl)) for f in filters]
        out[host] = d.model_copy(update={"filters": filters, "interfaces": ifaces}) if filters else d
    return out, numbers.warnings()
