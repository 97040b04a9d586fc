"""The security policy against the topology.

* references: every zone kind is present; rules and invariants name known zones, services, servers and scopes;
  a rule's `source_hosts` / `destination_hosts` sit in its zones; an invariant's exempted hosts sit in the
  zone it names (so the management VLAN tagged with another security zone is caught here);
* invariants: no allow rule admits traffic an invariant forbids (an error naming the rule and the invariant);
* lints (warnings): rules broader than their reason, zones with no members, rules that never match,
  overlapping scopes; expired rules warn (and drop after the grace period).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from countynet.errors import Diagnostic
from countynet.suggest import hint_choices
from countynet.topology.hosting import extranet_units, host_zone, hosted
from countynet.topology.policy_models import Invariant, PolicyFile, Rule, parse_port

if TYPE_CHECKING:
    from countynet.topology.validated import Topology

ZONE_KINDS = ("internet", "city", "unit-lan", "township-lan", "village-lan", "device-mgmt")
# ports that administer a device or server: ssh, telnet, snmp (and traps), netconf, rdp, vnc
MANAGEMENT_PORTS = (("tcp", 22, 23), ("udp", 161, 162), ("tcp", 830, 830), ("tcp", 3389, 3389),
                    ("tcp", 5900, 5900))
Ports = list[tuple[str, int, int]]


def check(t: Topology, today: dt.date | None = None) -> Iterator[Diagnostic]:
    """Policy references, invariants, lints and expiry (`today` defaults to the current date)."""
    p = t.policy
    yield from _references(t)
    zone_of_server = _server_zones(t)
    yield from _invariant_hosts(t, zone_of_server)
    yield from _invariants(t)
    yield from _lints(t)
    today = today or dt.date.today()
    for i, r in enumerate(p.rules):
        if r.expires and r.expires < today:
            yield t.diag("policy", ["rules", i, "expires"],
                         f"rule {r.name!r} expired on {r.expires}"
                         + (" and is dropped" if (today - r.expires).days > p.expiry_grace_days else
                            " and will be dropped after the grace period"),
                         "renew the rule with a new expiry date or delete it", severity="warning")


def _server_zones(t: Topology) -> dict[str, str]:
    """Server name -> the security zone of its centre zone."""
    sec = {z.name: z.security_zone for z in t.centre.zones}
    out = {s.name: sec.get(s.zone, s.zone) for s in t.centre.servers}
    out.update({h.server.name: h.zone for h in hosted(t.units.units, "extranet") if h.zone})  # docs/hosting.md
    return out


def _references(t: Topology) -> Iterator[Diagnostic]:
    p = t.policy
    zone_of_server = _server_zones(t)
    townships = {tw.id for tw in t.townships}
    units = {u.id for u in t.units.units}
    kinds = {z.kind for z in p.zones.values()}
    for kind in ZONE_KINDS:
        if kind not in kinds:
            yield t.diag("policy", ["zones"], f"no security zone of kind {kind!r}",
                         f"add a zone with kind: {kind} so every network segment belongs to a zone")
    for i, r in enumerate(p.rules):
        for fld, alias in (("source", "from"), ("destination", "to")):
            for j, z in enumerate(getattr(r, fld)):
                if z not in p.zones:
                    yield t.diag("policy", ["rules", i, alias, j], f"unknown zone {z!r}", hint_choices(z, p.zones))
        for j, s in enumerate(r.services):
            if s not in p.services:
                yield t.diag("policy", ["rules", i, "services", j], f"unknown service {s!r}",
                             hint_choices(s, p.services))
        for fld, rzones in (("destination_hosts", r.destination), ("source_hosts", r.source)):
            for j, h in enumerate(getattr(r, fld)):
                if h not in zone_of_server:
                    yield t.diag("policy", ["rules", i, fld, j], f"unknown server {h!r}",
                                 hint_choices(h, zone_of_server))
                elif zone_of_server[h] not in rzones:
                    yield t.diag("policy", ["rules", i, fld, j],
                                 f"server {h!r} is in security zone {zone_of_server[h]!r}, which is not in the "
                                 f"rule's {'to' if fld == 'destination_hosts' else 'from'} zones {list(rzones)}",
                                 f"add {zone_of_server[h]!r} to the rule's zones, or check the security_zone of "
                                 f"the centre zone the server sits in (centre.yaml)")
        if r.scope and r.scope.township and r.scope.township not in townships:
            yield t.diag("policy", ["rules", i, "scope", "township"], f"unknown township {r.scope.township!r}",
                         hint_choices(r.scope.township, townships))
        if r.scope and r.scope.unit and r.scope.unit not in units:
            yield t.diag("policy", ["rules", i, "scope", "unit"], f"unknown unit {r.scope.unit!r}",
                         hint_choices(r.scope.unit, units))
    for k, inv in enumerate(p.invariants):
        sides: list[tuple[str, list[str] | str]] = [("from", inv.source), ("to", inv.destination),
                                                    ("except_from", inv.except_from), ("except_to", inv.except_to)]
        for alias, zones in sides:
            for j, z in enumerate(zones if isinstance(zones, list) else []):
                if z not in p.zones:
                    yield t.diag("policy", ["invariants", k, alias, j], f"unknown zone {z!r}",
                                 hint_choices(z, p.zones))
        for j, s in enumerate(inv.services if isinstance(inv.services, list) else []):
            if s not in p.services:
                yield t.diag("policy", ["invariants", k, "services", j], f"unknown service {s!r}",
                             hint_choices(s, p.services))
        if inv.unless_from_hosts and inv.unless_from_hosts.zone not in p.zones:
            z = inv.unless_from_hosts.zone
            yield t.diag("policy", ["invariants", k, "unless_from_hosts", "zone"], f"unknown zone {z!r}",
                         hint_choices(z, p.zones))


def _invariant_hosts(t: Topology, zone_of_server: dict[str, str]) -> Iterator[Diagnostic]:
    """An invariant's exempted hosts must sit in the zone it names: a management host that moved into
    another security zone (its VLAN tagged with the compound's zone, say) breaks the invariant itself."""
    for k, inv in enumerate(t.policy.invariants):
        exc = inv.unless_from_hosts
        if exc is None:
            continue
        for j, h in enumerate(exc.hosts):
            path = ["invariants", k, "unless_from_hosts", "hosts", j]
            if h not in zone_of_server:
                yield t.diag("policy", path, f"unknown server {h!r}", hint_choices(h, zone_of_server))
            elif zone_of_server[h] != exc.zone:
                server = next(s for s in t.centre.servers if s.name == h)
                cz = next((n for n, z in enumerate(t.centre.zones) if z.name == server.zone), None)
                where = ""
                if cz is not None:
                    f, pos = t.where("centre", ["zones", cz, "security_zone"])
                    where = f" ({f}:{pos.line}:{pos.column} tags centre zone {server.zone!r} with it)"
                yield t.diag("policy", path,
                             f"invariant {inv.name!r} broken: server {h!r} is in security zone "
                             f"{zone_of_server[h]!r}, not {exc.zone!r}{where}",
                             f"tag centre zone {server.zone!r} with security_zone: {exc.zone} in centre.yaml, "
                             f"or move the server; the {exc.zone} hosts must not share a zone with others")


def zones_of(spec: list[str] | str, excluded: list[str], policy: PolicyFile) -> set[str]:
    """The zones an invariant side names ("any" is every zone), minus the excluded ones."""
    zones = set(policy.zones) if spec == "any" else set(spec)
    return zones - set(excluded)


def service_ports(policy: PolicyFile, services: list[str] | str) -> Ports | None:
    """(protocol, low, high) of each named service (unknown names skipped); None for "any"."""
    if services == "any":
        return None
    return [parse_port(spec) for s in services if s in policy.services for spec in policy.services[s].ports]


def overlap(a: Ports | None, b: Ports | None) -> Ports:
    """The port ranges two service lists share (None is every port)."""
    if a is None or b is None:
        return (b if a is None else a) or [("any", 0, 0)]
    out = []
    for pa, la, ha in a:
        for pb, lb, hb in b:
            if pa == pb and max(la, lb) <= min(ha, hb):
                out.append((pa, max(la, lb), min(ha, hb)))
    return out


def _fmt(ports: Ports) -> str:
    return ", ".join(p if p in ("icmp", "any") else f"{p}/{lo}" + (f"-{hi}" if hi != lo else "")
                     for p, lo, hi in ports)


def violations(policy: PolicyFile, r: Rule, inv: Invariant) -> list[tuple[str, str, Ports]]:
    """(from zone, to zone, ports) of allow rule `r` that invariant `inv` forbids."""
    if r.action != "allow":
        return []
    src = zones_of(inv.source, inv.except_from, policy)
    dst = zones_of(inv.destination, inv.except_to, policy)
    shared = overlap(service_ports(policy, r.services), service_ports(policy, inv.services))
    if not shared:
        return []
    exc = inv.unless_from_hosts
    out = []
    for sz in r.source:
        if sz not in src:
            continue
        if exc and sz == exc.zone and r.source_hosts and set(r.source_hosts) <= set(exc.hosts):
            continue
        for dz in r.destination:
            if dz in dst:
                out.append((sz, dz, shared))
    return out


def _invariants(t: Topology) -> Iterator[Diagnostic]:
    p = t.policy
    for i, r in enumerate(p.rules):
        for k, inv in enumerate(p.invariants):
            bad = violations(p, r, inv)
            if not bad:
                continue
            f, pos = t.where("policy", ["invariants", k])
            pairs = "; ".join(f"{sz} -> {dz} ({_fmt(ports)})" for sz, dz, ports in bad[:6])
            more = f" and {len(bad) - 6} more" if len(bad) > 6 else ""
            hint = (f"narrow the rule (from/to zones, services, source_hosts) so it no longer admits what "
                    f"{inv.name!r} forbids: {inv.reason}")
            if inv.unless_from_hosts:
                hint += (f"; only source_hosts among {inv.unless_from_hosts.hosts} of zone "
                         f"{inv.unless_from_hosts.zone!r} are exempt")
            yield t.diag("policy", ["rules", i],
                         f"rule {r.name!r} breaks invariant {inv.name!r} ({f}:{pos.line}): {pairs}{more}", hint)


def _lints(t: Topology) -> Iterator[Diagnostic]:
    """Warnings: broader than the reason, zones without members, rules that never match, overlapping scopes."""
    p = t.policy
    members = _zones_with_members(t)
    for name, z in p.zones.items():
        if z.kind not in ("internet", "city") and name not in members:
            yield t.diag("policy", ["zones", name], f"security zone {name!r} has no members",
                         f"tag a segment with it (a centre zone's security_zone in centre.yaml for kind centre; "
                         f"only the first zone of kind {z.kind!r} receives the {z.kind} segments) or delete it",
                         severity="warning")
    top = max((z.trust for z in p.zones.values()), default=100)
    for i, r in enumerate(p.rules):
        if r.action != "allow":
            continue
        ports = service_ports(p, r.services) or []
        for sz in r.source:
            for dz in r.destination:
                if sz not in p.zones or dz not in p.zones:
                    continue
                ts, td = p.zones[sz].trust, p.zones[dz].trust
                if ts < td and td == top and not r.destination_hosts and p.zones[dz].kind == "centre":
                    yield t.diag("policy", ["rules", i],
                                 f"rule {r.name!r} opens all of zone {dz!r} (trust {td}) to lower-trust zone "
                                 f"{sz!r} (trust {ts}): broader than its reason", "name the servers the reason "
                                 "speaks of with destination_hosts", severity="warning")
                mgmt = overlap(ports, list(MANAGEMENT_PORTS))
                if ts < td and mgmt:
                    yield t.diag("policy", ["rules", i],
                                 f"rule {r.name!r} lets lower-trust zone {sz!r} (trust {ts}) administer "
                                 f"higher-trust zone {dz!r} (trust {td}) over {_fmt(mgmt)}",
                                 "administration goes from the management zone's jump host only; drop the "
                                 "management service or the zone", severity="warning")
        yield from _never_matches(t, i, r, members)
    yield from _overlapping_scopes(t)


def _zones_with_members(t: Topology) -> set[str]:
    """Zones that receive a segment from the topology (the intent stage gives each segment kind to the first
    zone of that kind; centre zones are named by centre.yaml)."""
    p = t.policy
    first: dict[str, str] = {}
    for name, z in p.zones.items():
        first.setdefault(z.kind, name)
    out = {z.security_zone for z in t.centre.zones}
    out |= {host_zone(u.id) for u in extranet_units(t.units.units)}  # hosting segments (docs/hosting.md)
    present = {"device-mgmt": True, "unit-lan": bool(t.units.units), "township-lan": bool(t.townships),
               "village-lan": any(tw.villages for tw in t.townships)}
    out |= {first[k] for k, ok in present.items() if ok and k in first}
    return out


def _never_matches(t: Topology, i: int, r: Rule, members: set[str]) -> Iterator[Diagnostic]:
    """Warnings for allow rule `r` (at index `i`) that can never match a packet, or match more than it reads."""
    p = t.policy
    known = [z for z in [*r.source, *r.destination] if z in p.zones]
    if len(known) < len(r.source) + len(r.destination):
        return  # unknown zones are errors already
    empty = [z for z in known if p.zones[z].kind not in ("internet", "city") and z not in members]
    if set(r.source) <= set(empty) or set(r.destination) <= set(empty):
        yield t.diag("policy", ["rules", i], f"rule {r.name!r} never matches: zone(s) {empty} have no members",
                     "tag segments with the zone or delete the rule", severity="warning")
    if (len(r.source) == 1 and r.source == r.destination and p.zones[r.source[0]].kind == "centre"
            and not r.scope):
        yield t.diag("policy", ["rules", i], f"rule {r.name!r} never matches: zone {r.source[0]!r} is one segment "
                     "and traffic inside it passes no filter", "delete the rule", severity="warning")
    if r.scope:
        kinds = {p.zones[z].kind for z in known}
        if r.scope.township and not kinds & {"township-lan", "village-lan"}:
            yield t.diag("policy", ["rules", i, "scope"], f"rule {r.name!r}: the township scope has no effect "
                         "(no township or village zone in from/to), so the rule is broader than it reads",
                         "drop the scope or add the township-lan / village-lan zone", severity="warning")
        if r.scope.unit and "unit-lan" not in kinds:
            yield t.diag("policy", ["rules", i, "scope"], f"rule {r.name!r}: the unit scope has no effect "
                         "(no unit zone in from/to), so the rule is broader than it reads",
                         "drop the scope or add the unit-lan zone", severity="warning")
    for j, d in enumerate(p.rules):
        if d.action == "deny" and d is not r and _covers(p, d, r):
            yield t.diag("policy", ["rules", i], f"rule {r.name!r} never matches: deny rule {d.name!r} "
                         f"(rule {j + 1}) covers all of it", "delete one of the two", severity="warning")
            break


def _covers(p: PolicyFile, d: Rule, r: Rule) -> bool:
    """Does deny rule `d` cover every packet of allow rule `r` (zones, ports, hosts, scope)?"""
    if not (set(r.source) <= set(d.source) and set(r.destination) <= set(d.destination)):
        return False
    if d.scope and d.scope != r.scope:
        return False
    if d.source_hosts and not (r.source_hosts and set(r.source_hosts) <= set(d.source_hosts)):
        return False
    if d.destination_hosts and not (r.destination_hosts and set(r.destination_hosts) <= set(d.destination_hosts)):
        return False
    dp = service_ports(p, d.services) or []
    return all(any(pd == pr and ld <= lr and hr <= hd for pd, ld, hd in dp)
               for pr, lr, hr in service_ports(p, r.services) or [])


def _overlapping_scopes(t: Topology) -> Iterator[Diagnostic]:
    """Two allow rules over the same zone pair and ports where one's scope lies inside the other's (an
    unscoped rule covers every scope): the narrower rule adds nothing and reads as if it limited access."""
    p = t.policy
    rules = [(i, r) for i, r in enumerate(p.rules) if r.action == "allow"]
    for a, (i, r) in enumerate(rules):
        for j, o in rules[:a]:
            if not (r.scope or o.scope) or r.destination_hosts != o.destination_hosts \
                    or r.source_hosts != o.source_hosts:
                continue
            pairs = {(s, d) for s in r.source for d in r.destination} & \
                {(s, d) for s in o.source for d in o.destination}
            shared = overlap(service_ports(p, r.services), service_ports(p, o.services))
            if not pairs or not shared:
                continue
            if o.scope is None or r.scope is None or o.scope == r.scope:
                wide, narrow = (o, r) if o.scope is None or r.scope is not None else (r, o)
                yield t.diag("policy", ["rules", i],
                             f"rules {o.name!r} (rule {j + 1}) and {r.name!r} overlap on "
                             f"{', '.join(sorted(f'{s} -> {d}' for s, d in pairs))} ({_fmt(shared)}): "
                             f"scope {narrow.scope.model_dump(exclude_none=True) if narrow.scope else 'all'} "
                             f"lies inside {wide.name!r}'s", "merge the rules or make the scopes disjoint",
                             severity="warning")
