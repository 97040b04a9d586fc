"""Fallback probe matrix, read straight from topology/policy.yaml, for when countynet.policy.matrix is absent.

Per allow rule: one flow per (source zone with a probe in scope, destination in scope, service) expected
`allow`; then default-deny flows: from every probe zone to every in-scope server's first service where no
rule allows it, expected `deny`. Independent of the policy compiler on purpose: the lab then checks the
compiled filters against the policy text, not against themselves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from countynet.intent import DeviceIntent
from countynet.lab.probe import Flow
from countynet.policy_schema import PolicyFile, Rule, parse_port

LAN_KINDS = ("unit-lan", "township-lan", "village-lan")


def _first_port(policy: PolicyFile, service: str) -> tuple[str, int | None]:
    proto, lo, _ = parse_port(policy.services[service].ports[0])
    return proto, (lo or None)


def allowed(policy: PolicyFile, rules: list[Rule], src_zone: str, dst_zone: str, dst_host: str | None,
            proto: str, port: int | None) -> str | None:
    """Name of the first allow rule covering the flow, else None."""
    for r in rules:
        if src_zone not in r.source or dst_zone not in r.destination:
            continue
        if r.destination_hosts and dst_host not in r.destination_hosts:
            continue
        for s in r.services:
            for spec in policy.services[s].ports:
                p, lo, hi = parse_port(spec)
                if p == proto and (proto == "icmp" or (port is not None and lo <= port <= hi)):
                    return r.name
    return None


def _nat_outside(intents: Mapping[str, DeviceIntent], inside: str, proto: str, port: int | None) -> str | None:
    for d in intents.values():
        if d.nat:
            for s in d.nat.static:
                if s.inside == inside and s.protocol == proto and s.port == port:
                    return s.outside
    return None


def _addr(d: DeviceIntent) -> str:
    if d.server or not d.loopback:
        return next(i.address.split("/")[0] for i in d.interfaces if i.address and i.kind != "loopback")
    return d.loopback.split("/")[0]


def policy_flows(policy: PolicyFile, intents: Mapping[str, DeviceIntent], inv: dict[str, Any]) -> list[Flow]:
    from countynet.policy.compile import active_rules

    rules = active_rules(policy)
    probes: dict[str, list[dict[str, Any]]] = {}
    for p in inv["probes"]:
        probes.setdefault(p["zone"], []).append(p)
    in_scope = [h for h in sorted(inv["devices"]) if h in intents]
    servers = [h for h in in_scope if intents[h].server]
    routers = [h for h in in_scope if not intents[h].server and intents[h].loopback and inv["devices"][h]["frr"]]

    def src_probes(r: Rule, zone: str) -> list[dict[str, Any]]:
        cands = probes.get(zone, [])
        if r.scope:
            def fits(p: dict[str, Any]) -> bool:
                d = intents.get(p["device"])
                return bool(d and (r.scope.township in (None, d.township)) and (r.scope.unit in (None, d.unit)))  # type: ignore[union-attr]
            cands = [p for p in cands if fits(p)]
        return cands[:1]

    def dests(r: Rule, zone: str) -> list[tuple[str | None, str]]:
        if zone in ("internet", "city"):
            return [(None, p["address"].split("/")[0]) for p in probes.get(zone, [])[:1]]
        if zone == "device-mgmt":
            return [(h, _addr(intents[h])) for h in routers[:1]]
        hosts = [h for h in servers if intents[h].server.zone == zone]  # type: ignore[union-attr]
        if r.destination_hosts:
            return [(h, _addr(intents[h])) for h in hosts if h in r.destination_hosts]
        if hosts:
            return [(hosts[0], _addr(intents[hosts[0]]))]
        return [(None, p["address"].split("/")[0]) for p in probes.get(zone, [])[:1]]

    flows: list[Flow] = []
    for r in rules:
        for sz in r.source:
            for sp in src_probes(r, sz):
                for dz in r.destination:
                    for host, addr in dests(r, dz):
                        for svc in r.services:
                            proto, port = _first_port(policy, svc)
                            dst = addr
                            if sz == "internet" and host:
                                nat = _nat_outside(intents, addr, proto, port)
                                if not nat:
                                    continue
                                dst = nat
                            flows.append(Flow(r.name, sz, dz, sp["device"], host, dst, proto, port, "allow"))
    for sz, ps in sorted(probes.items()):
        for host in servers:
            srv = intents[host].server
            assert srv
            if not srv.services or srv.zone == sz:
                continue
            s = srv.services[0]
            port = s.port_min or None
            if allowed(policy, rules, sz, srv.zone, host, s.protocol, port):
                continue
            flows.append(Flow(f"default-deny:{sz}->{srv.zone}", sz, srv.zone, ps[0]["device"], host,
                              _addr(intents[host]), s.protocol, port, "deny"))
    seen: set[tuple[Any, ...]] = set()
    out = []
    for f in flows:
        key = (f.src_zone, f.dst_address, f.protocol, f.port)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def in_subnet(addr: str, cidr: str) -> bool:
    return ipaddress.IPv4Address(addr) in ipaddress.IPv4Interface(cidr).network
