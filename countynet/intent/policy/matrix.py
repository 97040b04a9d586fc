"""The probe matrix: concrete flows that the policy allows or denies, with real addresses.

One flow per (rule, source zone, destination zone) for what a rule allows, plus its denied twins: the
same pair on a port no rule opens, the same zone outside a rule's scope, and every zone pair no rule
connects at all (except from `device-mgmt`: routers' own traffic is set by their configuration, not
filtered). `verify --offline`, Batfish and the lab all test these same flows, so their verdicts can be
compared line by line.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass

from countynet.intent.models import DeviceIntent
from countynet.intent.policy.compile import Compiler, _ports
from countynet.intent.policy.zones import Member
from countynet.topology.policy_models import PolicyFile, Rule

INTERNET_PROBE = "192.0.2.100"  # TEST-NET-1: the emulated internet host
DENIED_PORT = 23  # telnet: never opened by any rule


@dataclass(frozen=True)
class Flow:
    rule: str
    src_zone: str
    dst_zone: str
    src_device: str  # device whose LAN (or edge) the probe sits behind; '' for outside zones
    src_address: str
    dst_device: str
    dst_address: str
    protocol: str  # tcp | udp | icmp
    port: int
    expected: str  # allow | deny

    def key(self) -> str:
        return (f"{self.src_zone}>{self.dst_zone} {self.protocol}/{self.port} "
                f"{self.src_address}>{self.dst_address}")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _probe_in(m: Member) -> str:
    """A host address inside a member subnet that is not the gateway: the last usable one."""
    net = m.prefix
    if net.prefixlen >= 31:
        return str(net.network_address)
    return str(net.broadcast_address - 1)


class Matrix:
    def __init__(self, intents: dict[str, DeviceIntent], policy: PolicyFile, comp: Compiler):
        self.intents = intents
        self.policy = policy
        self.comp = comp
        self.zm = comp.zm

    def sources(self, zone: str, township: str | None = None, unit: str | None = None) -> list[tuple[str, str]]:
        """(device, address) probes of a source zone: a leased and a VPN village for village-lan."""
        kind = self.zm.kinds[zone]
        if kind == "internet":
            return [("", INTERNET_PROBE)]
        if kind == "city":
            nets = self.zm.prefixes(zone)
            return [("", str(nets[0].network_address + 100))] if nets else []
        members = sorted((m for m in self.zm.members.get(zone, []) if (township is None or m.township == township)
                          and (unit is None or m.unit == unit)), key=lambda m: (m.device, m.interface))
        if not members:
            return []
        if kind == "device-mgmt":  # a router's loopback: not inside any LAN segment
            lo = [m for m in members if self.intents[m.device].interface(m.interface).kind == "loopback"]
            m = (lo or members)[0]
            return [(m.device, str(m.prefix.network_address))]
        picks = [members[0]]
        vpn = next((m for m in members if self.intents[m.device].vpn is not None), None)
        if vpn and vpn is not members[0]:
            picks.append(vpn)
        return [(m.device, _probe_in(m)) for m in picks]

    def destinations(self, zone: str, hosts: list[str], township: str | None = None, unit: str | None = None,
                     service: tuple[str, int] | None = None) -> list[tuple[str, str]]:
        if hosts:
            out = []
            for h in hosts:
                d = self.intents.get(h)
                addr = next((i.address for i in d.interfaces if i.address and i.kind != "loopback"), None) \
                    if d else None
                if addr and self.zm.zone_of(addr) == zone:
                    out.append((h, addr.split("/")[0]))
            return out[:1]
        kind = self.zm.kinds[zone]
        if kind in ("internet", "city"):
            return self.sources(zone)
        servers = sorted((h, d) for h, d in self.intents.items() if d.server and d.server.zone == zone)
        if service:  # prefer a server that really offers the service: its own host firewall opens only those
            offering = [(h, d) for h, d in servers if d.server and any(
                s.protocol == service[0] and s.port_min <= service[1] <= s.port_max for s in d.server.services)]
            servers = offering or servers
        if servers:
            h, d = servers[0]
            addr = next(i.address for i in d.interfaces if i.address)
            return [(h, addr.split("/")[0])]
        return self.sources(zone, township, unit)[:1]

    def rule_sources(self, r: Rule, zone: str) -> list[tuple[str, str]]:
        """Probe sources of rule `r` in `zone`: its source hosts there when it names some."""
        if r.source_hosts:
            hosts = self.destinations(zone, r.source_hosts)
            return hosts
        return self.sources(zone, *self.comp.scope_for(r, zone))

    def _denied(self, sz: str, dz: str, proto: str, port: int) -> bool:
        """Does an unscoped deny rule without hosts cover (sz, dz, proto/port)?"""
        for d in self.comp.denies:
            if sz in d.source and dz in d.destination and not (d.scope or d.source_hosts or d.destination_hosts):
                for p, lo, hi in _ports(self.policy, d.services):
                    if p == proto and (proto == "icmp" or (lo or 0) <= port <= (hi or 0)):
                        return True
        return False

    def flows(self) -> list[Flow]:
        out: list[Flow] = []
        connected: set[tuple[str, str]] = set()
        for d in self.comp.denies:  # deny rules take precedence: one probe each, expected denied
            proto, lo, _hi = _ports(self.policy, d.services)[0]
            for sz in d.source:
                for dz in d.destination:
                    connected.add((sz, dz))
                    for sdev, saddr in self.rule_sources(d, sz)[:1]:
                        for ddev, daddr in self.destinations(dz, d.destination_hosts, *self.comp.scope_for(d, dz),
                                                             service=(proto, lo or 0))[:1]:
                            if saddr != daddr and not self._same_segment(saddr, daddr):
                                out.append(Flow(f"{d.name}", sz, dz, sdev, saddr, ddev, daddr, proto, lo or 0,
                                                "deny"))
        for r in self.comp.rules:
            ports = _ports(self.policy, r.services)
            proto, lo, _hi = ports[0]
            for sz in r.source:
                for dz in r.destination:
                    connected.add((sz, dz))
                    if self._denied(sz, dz, proto, lo or 0):
                        continue
                    for sdev, saddr in self.rule_sources(r, sz):
                        for ddev, daddr in self.destinations(dz, r.destination_hosts, *self.comp.scope_for(r, dz),
                                                             service=(proto, lo or 0)):
                            if saddr == daddr or self._same_segment(saddr, daddr):
                                continue  # one LAN segment: no router, so no network policy applies
                            port = lo or 0
                            out.append(Flow(r.name, sz, dz, sdev, saddr, ddev, daddr, proto, port, "allow"))
                            if self.zm.kinds[sz] == "device-mgmt":
                                continue  # a router's own traffic: set by its configuration, not filtered
                            if proto in ("tcp", "udp") and not self._opened(sz, dz, DENIED_PORT):
                                out.append(Flow(f"{r.name}:other-port", sz, dz, sdev, saddr, ddev, daddr, "tcp",
                                                DENIED_PORT, "deny"))
                        if any(self.comp.scope_for(r, dz)):  # the same zone outside the scope stays closed
                            inside = {d for d, _ in self.destinations(dz, [], *self.comp.scope_for(r, dz))}
                            for ddev, daddr in self.sources(dz):
                                if ddev not in inside and not self._allowed_elsewhere(r, sz, dz):
                                    out.append(Flow(f"{r.name}:out-of-scope", sz, dz, sdev, saddr, ddev, daddr,
                                                    proto, lo or 0, "deny"))
                                    break
        zones = list(self.zm.kinds)
        for sz in zones:
            if self.zm.kinds[sz] == "device-mgmt":
                # What a router sends from its own loopback is decided by its configuration (it runs no
                # users); the network filters what enters from LANs and the outside, so no probe here.
                continue
            for dz in zones:
                if sz == dz or (sz, dz) in connected:
                    continue
                if {self.zm.kinds[sz], self.zm.kinds[dz]} <= {"internet", "city"}:
                    continue
                for sdev, saddr in self.sources(sz)[:1]:
                    for ddev, daddr in self.destinations(dz, [])[:1]:
                        out.append(Flow("default-deny", sz, dz, sdev, saddr, ddev, daddr, "tcp", 443, "deny"))
        seen: set[str] = set()
        uniq = []
        for f in out:
            k = f.key() + f.expected
            if k not in seen:
                seen.add(k)
                uniq.append(f)
        return uniq

    def _allowed_elsewhere(self, rule: object, sz: str, dz: str) -> bool:
        """Does another, unscoped rule connect the two zones (so out-of-scope traffic may be allowed)?"""
        return any(r is not rule and r.scope is None and sz in r.source and dz in r.destination
                   for r in self.comp.rules)

    def _same_segment(self, a: str, b: str) -> bool:
        ia, ib = ipaddress.IPv4Address(a), ipaddress.IPv4Address(b)
        return any(ia in m.prefix and ib in m.prefix and m.prefix.prefixlen < 32
                   for ms in self.zm.members.values() for m in ms)

    def _opened(self, sz: str, dz: str, port: int) -> bool:
        for r in self.comp.rules:
            if sz in r.source and dz in r.destination:
                for proto, lo, hi in _ports(self.policy, r.services):
                    if proto == "tcp" and lo is not None and hi is not None and lo <= port <= hi:
                        return True
        return False


def probe_matrix(intents: dict[str, DeviceIntent], policy: PolicyFile, internal: list[str]) -> list[Flow]:
    """Flows to probe for a compiled build: its intents, its policy and the county's own aggregates."""
    comp = Compiler(intents, policy, [ipaddress.IPv4Network(p) for p in internal])
    return Matrix(intents, policy, comp).flows()
