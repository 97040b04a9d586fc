"""Exhaustive verification of what deploy pushes: every packet between every pair of endpoints.

The network side is read back from the rendered configurations in `build/configs/` (the per-platform parsers of
`countynet.verify.symbolic.parsers`); the policy side is this module's own reading of `build/policy/rules.json`
and `build/policy/zones.json`. Nothing is shared with the policy compiler.

**Network model** (what it assumes, stated in every report):

* Endpoints are the zone members of `policy/zones.json` (every LAN, server and centre segment, one endpoint per
  prefix, with every gateway that serves it), the internet (every address outside the county's internal
  aggregates and the city's prefixes) and the city (its prefixes). Device management addresses (loopbacks,
  link networks) are not endpoints: what reaches them is decided by control-plane ACLs, not by a forwarding
  path, and is reported as not covered.
* A packet between two endpoints of the county crosses the filters bound **inbound on the source's gateway
  interface** and **outbound on the destination's gateway interface**; the WAN, core and township routers
  between them forward it unfiltered. Any filter bound anywhere else (a transit filter) is placed on paths
  only if it is on a firewall's or city edge's outside/inside interface; otherwise the report states it as
  not placed (unproven) instead of guessing its paths.
* Traffic to and from the internet crosses a zone firewall (H3C `security-policy`, stateful) and the filters
  bound on its inside and outside interfaces; the city crosses its edge router's filters. NAT is taken as the
  identity on the inside addresses (published servers are checked at their inside address) and reported as
  not modelled.
* A Linux host's `nftables` input chain is a stateful hop for packets to that host.
* Where a segment has several gateways (VRRP pairs) or the internet several firewalls, every variant is a
  path: the network *may admit* a packet some path admits and *must admit* a packet every path admits.
* Stateful hops (zone firewalls, nftables) admit new connections by their policy and replies (TCP with ACK or
  RST set, UDP, ICMP query answers) of the connections the opposite direction can open through the rest of the
  path (an over-approximation: sequence numbers and connection state are not tracked).

**Policy model**: a rule admits, from its `from` zones (restricted to `source_hosts` and to its `scope`'s
township/unit) to its `to` zones (restricted to `destination_hosts`), its services' packets with any TCP flags;
a deny rule removes what it matches from every allow rule (deny takes precedence); the replies of what it
admits flow back (TCP with ACK or RST set, UDP swapped, ICMP query answers). Everything else is denied.

For every source endpoint the admitted set towards every destination is one BDD; the comparison is exact over
the whole header space. Each difference becomes a finding with a counterexample packet, the deciding lines on
its path, the policy rule it belongs to, and the regions it covers.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from countynet.outputs.build_reader import BuildReader
from countynet.outputs.flows import ALLOWED, DENIED, UNPROVEN, Finding, Flow, Verdict, mismatch_finding
from countynet.outputs.policy_data import RULES_FILE, ZONES_FILE
from countynet.verify.symbolic import (
    BDD,
    ESTABLISHED,
    ICMP,
    TCP,
    UDP,
    Engine,
    Filter,
    Match,
    Packet,
    Path,
    Stateful,
)
from countynet.verify.symbolic.concrete import Step
from countynet.verify.symbolic.parsers import DeviceConfig, ParseError, parse_device

Net = ipaddress.IPv4Network
OUTSIDE = ("internet", "city")
REGION_LIMIT = 12
ATTACKERS = ("village-lan", "township-lan")  # whose gateways the attacker model assumes compromised
# never a host on the internet: "this network", loopback, multicast / reserved / broadcast (the filters' multicast
# lines are for link-local protocols such as OSPF and VRRP, which no router forwards)
NOT_UNICAST = (ipaddress.IPv4Network("0.0.0.0/8"), ipaddress.IPv4Network("127.0.0.0/8"),
               ipaddress.IPv4Network("224.0.0.0/3"))


class ModelError(ValueError):
    """The build cannot be modelled (a configuration line the parsers refuse, a broken reference)."""


@dataclass
class Endpoint:
    """One endpoint: a zone member prefix (with its gateways), the internet or the city."""

    zone: str
    kind: str
    prefixes: tuple[Net, ...]
    gateways: list[tuple[str, str]] = field(default_factory=list)
    township: str | None = None
    unit: str | None = None

    @property
    def outside(self) -> bool:
        return self.kind in OUTSIDE

    @property
    def name(self) -> str:
        if self.outside:
            return self.zone
        return f"{self.zone} {', '.join(str(p) for p in self.prefixes)}"


@dataclass
class Variant:
    """One way through the network from or to an endpoint: the hops, and what they admit (a BDD)."""

    label: str
    hops: list[Filter | Stateful]
    space: Any = None


def _complement(nets: Iterable[Net]) -> tuple[Net, ...]:
    rest = [ipaddress.IPv4Network("0.0.0.0/0")]
    for n in ipaddress.collapse_addresses(nets):
        nxt: list[Net] = []
        for r in rest:
            if n.subnet_of(r):
                nxt.extend(r.address_exclude(n))
            elif not r.subnet_of(n):
                nxt.append(r)
        rest = nxt
    return tuple(ipaddress.collapse_addresses(rest))


class Network:
    """The county's filters on the forwarding paths between endpoints, parsed from `build/configs/`."""

    def __init__(self, build: BuildReader, engine: Engine | None = None) -> None:
        self.e = engine or Engine()
        self.build = build
        self.unproven: list[str] = []
        zones = build.read_json(ZONES_FILE)
        self.zones = zones["zones"]
        self.internal = [Net(p) for p in zones["internal"]]
        self.devices: dict[str, DeviceConfig] = {}
        self.roles: dict[str, str] = {}
        for host, entry in build.hosts.items():
            self.roles[host] = entry.get("role", "")
            try:
                self.devices[host] = parse_device(host, entry.get("platform", ""), build.config_files(host))
            except ParseError as exc:
                raise ModelError(f"configs/{host}/{exc}") from exc
        self.endpoints = self._endpoints()
        self.used: set[tuple[str, str, str]] = set()
        self.placed_hosts: set[str] = set()
        self._lines = sum(len(f.lines) for d in self.devices.values() for f in d.filters.values())
        self._lines += sum(len(f.lines) for d in self.devices.values() for f in d.policies.values())

    # -- endpoints ------------------------------------------------------------------------------------------

    def _endpoints(self) -> list[Endpoint]:
        by_prefix: dict[Net, Endpoint] = {}
        city: list[Net] = []
        out: list[Endpoint] = []
        for name, z in self.zones.items():
            kind = z["kind"]
            if kind == "device-mgmt":
                continue
            if kind == "city":
                city = [Net(p) for p in (z["prefixes"] or z["external"])]
                out.append(Endpoint(name, kind, tuple(city)))
                continue
            if kind == "internet":
                continue
            for m in z["members"]:
                p = Net(m["prefix"])
                ep = by_prefix.get(p)
                if ep is None:
                    ep = by_prefix[p] = Endpoint(name, kind, (p,), township=m.get("township"), unit=m.get("unit"))
                    out.append(ep)
                elif ep.zone != name:
                    raise ModelError(f"{ZONES_FILE}: prefix {p} is in zones {ep.zone} and {name}")
                ep.gateways.append((m["device"], m["interface"]))
        for name, z in self.zones.items():
            if z["kind"] == "internet":
                out.append(Endpoint(name, "internet", _complement([*self.internal, *city, *NOT_UNICAST])))
        return out

    def space_of(self, field_name: str, nets: Iterable[Net]) -> BDD:
        """Packets whose `field_name` (src or dst) is in any of `nets` (collapsed first: fewer BDD operations)."""
        u = self.e.false
        for n in ipaddress.collapse_addresses(nets):
            u = u | self.e.prefix(field_name, n)
        return u

    # -- hops -----------------------------------------------------------------------------------------------

    def bound(self, device: str, interface: str, direction: str) -> list[Filter]:
        """The filters bound on an interface in a direction (marked as placed on a path)."""
        d = self.devices.get(device)
        if d is None:
            raise ModelError(f"{ZONES_FILE}: gateway {device} is not in the build")
        self.used.add((device, interface, direction))
        return d.bound(interface, direction)

    def _outside_ifaces(self, d: DeviceConfig) -> tuple[list[str], list[str]]:
        outside: list[str] = []
        inside: list[str] = []
        for iface, addr in d.addresses.items():
            (inside if any(addr.ip in n for n in self.internal) else outside).append(iface)
        return outside, inside

    def firewalls(self) -> list[tuple[str, list[Filter | Stateful], list[Filter | Stateful]]]:
        """Per zone firewall: (device, hops internet->inside, hops inside->internet)."""
        out = []
        for host, d in sorted(self.devices.items()):
            if not d.policies:
                continue
            outside_if, inside_if = self._outside_ifaces(d)
            out_zones = {z for z, ifs in d.zones.items() if set(ifs) & set(outside_if)}
            in_zones = {z for z, ifs in d.zones.items() if set(ifs) & set(inside_if)}
            if len(out_zones) != 1 or len(in_zones) != 1:
                self.unproven.append(f"{host}: security zones {sorted(d.zones)} are not one inside and one outside "
                                     "zone; its policies are not placed")
                continue
            zo, zi = next(iter(out_zones)), next(iter(in_zones))
            empty_o = Filter(f"security-policy {zo}->{zi}", (), "deny", host)
            empty_i = Filter(f"security-policy {zi}->{zo}", (), "deny", host)
            p_in, p_out = d.policies.get((zo, zi), empty_o), d.policies.get((zi, zo), empty_i)
            hops_in: list[Filter | Stateful] = []
            hops_out: list[Filter | Stateful] = []
            for i in outside_if:
                hops_in += self.bound(host, i, "inbound")
                hops_out += self.bound(host, i, "outbound")
            for i in inside_if:
                hops_in += self.bound(host, i, "outbound")
                hops_out += self.bound(host, i, "inbound")
            hops_in.append(Stateful(f"{host} security-policy {zo}->{zi}", p_in, p_out, host))
            hops_out.append(Stateful(f"{host} security-policy {zi}->{zo}", p_out, p_in, host))
            if d.nat:
                self.unproven.append(f"{host}: NAT not modelled (taken as the identity on inside addresses): "
                                     + "; ".join(d.nat[:3]) + (" ..." if len(d.nat) > 3 else ""))
            out.append((host, hops_in, hops_out))
        return out

    def edges(self) -> list[tuple[str, list[Filter | Stateful], list[Filter | Stateful]]]:
        """Per city edge router: (device, hops city->county, hops county->city)."""
        out = []
        for host, d in sorted(self.devices.items()):
            if self.roles.get(host) != "city_edge":
                continue
            outside_if, _ = self._outside_ifaces(d)
            hin: list[Filter | Stateful] = []
            hout: list[Filter | Stateful] = []
            for i in outside_if:
                hin += self.bound(host, i, "inbound")
                hout += self.bound(host, i, "outbound")
            out.append((host, hin, hout))
        return out

    def hosts(self) -> dict[str, tuple[ipaddress.IPv4Address, Stateful]]:
        """Linux hosts with an nftables input chain inside an endpoint: host -> (address, input hop)."""
        out = {}
        for host, d in sorted(self.devices.items()):
            if d.host_input is None or self.roles.get(host) not in ("server",):
                continue
            for addr in d.addresses.values():
                if any(addr.ip in p for ep in self.endpoints if not ep.outside for p in ep.prefixes):
                    out[host] = (addr.ip, d.host_input)
                    break
        return out

    def hubs(self) -> list[tuple[str, list[Net], Filter | Stateful, Filter | Stateful]]:
        """VPN hubs (IPsec traffic selectors in swanctl.conf): (device, spoke prefixes, forward hop for packets
        decrypted from the tunnels, forward hop for packets towards them). Decrypted packets arrive on the
        outside (non-county) interface, which is what the chain's `iifname` conditions name."""
        out = []
        for host, d in sorted(self.devices.items()):
            if not d.tunnels or d.forward_other is None:
                continue
            outside_if, _ = self._outside_ifaces(d)
            if len(outside_if) != 1:
                self.unproven.append(f"{host}: VPN hub without exactly one outside interface; its forward chain is "
                                     "not placed")
                continue
            # decrypted packets arrive on the outside interface (policy-based IPsec) or on xfrm interfaces
            # (route-based); the chain is the same for all of them when every iifname jumps to the same rules
            variants = {tuple(f.lines) for f in d.forward_by_iif.values()}
            if len(variants) > 1:
                self.unproven.append(f"{host}: its forward chain differs per tunnel interface; the rules for "
                                     f"{outside_if[0]} are used for every spoke")
            f_in = d.forward_by_iif.get(outside_if[0]) or next(iter(d.forward_by_iif.values()), d.forward_other)
            f_out = d.forward_other
            spokes = [n for nets in d.tunnels.values() for n in nets]
            if d.forward_stateful:
                hin: Filter | Stateful = Stateful(f"{host} nftables forward from the tunnels", f_in, f_out, host)
                hout: Filter | Stateful = Stateful(f"{host} nftables forward to the tunnels", f_out, f_in, host)
            else:
                hin, hout = f_in, f_out
            self.placed_hosts.add(host)
            out.append((host, spokes, hin, hout))
        return out

    def peers(self, host: str) -> dict[str, str]:
        """interface -> peer device, from the device's intent (`interfaces[].peer.host`). Read line by line: the
        intent is generated YAML, and a full YAML load of a WAN device's intent costs seconds."""
        out: dict[str, str] = {}
        iface = ""
        in_peer = False
        for line in self.build.read_text(f"intent/{host}.yaml").splitlines():
            if line.startswith("- name: "):
                iface, in_peer = line[8:].strip().strip('"'), False
            elif line.startswith("  peer:"):
                in_peer = True
            elif in_peer and line.startswith("    host: "):
                out[iface] = line[10:].strip().strip('"')
                in_peer = False
            elif not line.startswith("    "):
                in_peer = False
            if line and not line.startswith((" ", "-", "interfaces:")) and out:
                break  # past the interfaces list
        return out

    def transit(self, spokes: list[Net]) -> list[tuple[str, str, str, Filter, list[Endpoint]]]:
        """Filters bound on links towards another device (transit filters): (device, interface, direction, filter,
        the endpoints behind the link). Behind a link to device P are the endpoints P is the gateway of and, when
        P is a township router, every endpoint of its township that is not reached through a VPN hub (the
        county's design: villages and the township switch hang off the township router, which uplinks to the WAN
        aggregation). The link's peer comes from the device's intent."""
        out = []
        pending = [(h, b) for h, d in sorted(self.devices.items()) for b in d.bindings
                   if (h, b.interface, b.direction) not in self.used]
        peers: dict[str, dict[str, str]] = {}
        for host, b in pending:
            if host not in peers:
                peers[host] = self.peers(host)
            peer = peers[host].get(b.interface)
            if peer is None or peer not in self.devices:
                continue
            behind = [ep for ep in self.endpoints if not ep.outside and (
                any(g == peer for g, _ in ep.gateways)
                or (self.roles.get(peer) == "township_router" and ep.township is not None
                    and ep.township == self.build.hosts[peer].get("township")
                    and not all(any(p.subnet_of(s) for s in spokes) for p in ep.prefixes)))]
            if not behind:
                continue
            self.used.add((host, b.interface, b.direction))
            for flt in self.devices[host].bound(b.interface, b.direction):
                out.append((host, b.interface, b.direction, flt, behind))
        return out

    def unplaced(self) -> list[str]:
        """Bindings no path of the model crosses (transit filters): stated as unproven."""
        out = []
        for host, d in sorted(self.devices.items()):
            for b in d.bindings:
                if (host, b.interface, b.direction) not in self.used:
                    out.append(f"{host} {b.interface} {b.direction} {b.filter}: filter not placed on any modelled "
                               "path (transit filtering is not modelled)")
            if d.forward_other is not None and d.forward_other.lines and host not in self.placed_hosts:
                out.append(f"{host}: nftables forward chain not placed on any modelled path")
            out += d.notes[:5]
        return out


# -- the policy's own reading ---------------------------------------------------------------------------------


@dataclass
class PolicyRule:
    name: str
    action: str
    space: Any
    replies: Any


class Policy:
    """What `build/policy/rules.json` admits, read independently of the compiler."""

    def __init__(self, net: Network) -> None:
        self.net = net
        e = net.e
        self.data = net.build.read_json(RULES_FILE)
        self.unproven: list[str] = []
        self.addresses = {h: d.addresses for h, d in net.devices.items()}
        self.rules: list[PolicyRule] = []
        allow, deny = e.false, e.false
        for r in self.data["rules"]:
            action = r.get("action", "allow")
            u = self._sides(r) & self._services(r)
            rule = PolicyRule(r["name"], action, u, e.false)
            self.rules.append(rule)
            if action == "deny":
                deny = deny | u
            else:
                allow = allow | u
        self.requests = allow & ~deny
        for rule in self.rules:
            if rule.action != "deny":
                rule.replies = self.reply_space(rule.space & ~deny)
        self.replies = self.reply_space(self.requests)
        self.admitted = self.requests | self.replies
        if self.data.get("default_action", "deny") != "deny":
            self.unproven.append("the policy's default action is not deny: not modelled")

    def invariant_space(self, inv: dict[str, Any]) -> BDD:
        """What an invariant of rules.json forbids: from its zones to its zones on its services (or any), minus
        the `unless_from_hosts` hosts of their zone."""
        e = self.net.e
        src = e.false
        for z in inv["from"]:
            src = src | self.zone_space("src", z, None, [])
        dst = e.false
        for z in inv["to"]:
            dst = dst | self.zone_space("dst", z, None, [])
        services = e.valid if inv.get("services") == "any" or not inv.get("ports") else self._services(inv)
        unless = inv.get("unless_from_hosts") or {}
        if unless.get("hosts"):
            src = src & ~self.zone_space("src", unless.get("zone", ""), None, list(unless["hosts"]))
        return src & dst & services

    def reply_space(self, u: BDD) -> BDD:
        """Replies of the connections `u` opens: TCP with ACK or RST set, UDP and others swapped, ICMP answers."""
        e = self.net.e
        est = e.space(Match(protocol=TCP, tcp_flags=ESTABLISHED))
        return e.replies(u) & (~e.value("protocol", TCP) | est)

    def zone_space(self, field_name: str, zone: str, scope: dict[str, Any] | None, hosts: list[str]) -> BDD:
        e = self.net.e
        z = self.net.zones.get(zone)
        if z is None:
            self.unproven.append(f"{RULES_FILE}: zone {zone} is not in {ZONES_FILE}")
            return e.false
        if z["kind"] == "internet":
            ep = [x for x in self.net.endpoints if x.kind == "internet"]
            nets: list[Net] = list(ep[0].prefixes) if ep else []
        elif z["members"]:
            members = z["members"]
            if scope:
                for key in ("township", "unit"):
                    if scope.get(key) and any(m.get(key) for m in members):
                        members = [m for m in members if m.get(key) == scope[key]]
            nets = [Net(m["prefix"]) for m in members]
        else:
            nets = [Net(p) for p in (z["prefixes"] or z["external"])]
        u = self.net.space_of(field_name, nets)
        if hosts:
            addrs = [ipaddress.IPv4Network(a.ip) for h in hosts for a in self.addresses.get(h, {}).values()
                     if any(a.ip in n for n in nets)]
            u = u & self.net.space_of(field_name, addrs)
        return u

    def _sides(self, r: dict[str, Any]) -> BDD:
        e = self.net.e
        src, dst = e.false, e.false
        for z in r["from"]:
            src = src | self.zone_space("src", z, r.get("scope"), list(r.get("source_hosts") or []))
        for z in r["to"]:
            dst = dst | self.zone_space("dst", z, r.get("scope"), list(r.get("destination_hosts") or []))
        return src & dst

    def _services(self, r: dict[str, Any]) -> BDD:
        e = self.net.e
        u = e.false
        for p in r["ports"]:
            proto = p["protocol"]
            if proto in ("tcp", "udp"):
                lo, hi = p.get("low"), p.get("high")
                ports = None if lo is None else f"{lo}-{hi if hi is not None else lo}"
                u = u | e.space(Match.of(protocol=proto, dport=ports))
            elif proto in ("ip", "any"):
                u = u | e.valid
            elif proto == "icmp":  # a typed ICMP service (echo ...) grants that type (and code) only
                u = u | e.space(Match.of(protocol=proto, icmp_type=p.get("icmp_type"), icmp_code=p.get("icmp_code")))
            else:
                u = u | e.space(Match.of(protocol=proto))
        return u

    def rule_of(self, packet: Packet) -> str:
        """The rule a packet belongs to: `name`, `name (reply)`, `name (denied by deny-rule)` or ''."""
        e = self.net.e
        denies = [r.name for r in self.rules if r.action == "deny" and e.contains(r.space, packet)]
        for r in self.rules:
            if r.action != "deny" and e.contains(r.space, packet):
                return r.name + (f" (overridden by deny rule {denies[0]})" if denies else "")
        for r in self.rules:
            if r.action != "deny" and e.contains(r.replies, packet):
                return f"{r.name} (reply)"
        return f"deny rule {denies[0]}" if denies else ""


# -- the comparison -------------------------------------------------------------------------------------------


@dataclass
class Result:
    """The exhaustive check: findings, verdicts of the probe flows, what was proven and what was not."""

    findings: list[Finding] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    proven: dict[str, Any] = field(default_factory=dict)
    unproven: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Checker:
    """Builds the admitted sets per source endpoint and compares them with the policy."""

    def __init__(self, build: BuildReader, engine: Engine | None = None) -> None:
        t = time.perf_counter()
        self.net = Network(build, engine)
        self.e = self.net.e
        self.e.cover_limit = min(self.e.cover_limit, 80)  # widening regions is quadratic; above this, exact lists
        self.policy = Policy(self.net)
        self.t_parse = time.perf_counter() - t
        e, net = self.e, self.net
        self.eps = net.endpoints
        self.ep_space = {id(ep): net.space_of("dst", ep.prefixes) for ep in self.eps}
        self.ep_src = {id(ep): net.space_of("src", ep.prefixes) for ep in self.eps}
        self.inet = [ep for ep in self.eps if ep.kind == "internet"]
        self.city = [ep for ep in self.eps if ep.kind == "city"]
        inside = [ep for ep in self.eps if not ep.outside]
        self.dst_inside = e.false
        for ep in inside:
            self.dst_inside = self.dst_inside | self.ep_space[id(ep)]
        self.dst_inet = self._union(self.ep_space[id(x)] for x in self.inet)
        self.dst_city = self._union(self.ep_space[id(x)] for x in self.city)
        # source side, stateless: per endpoint, per gateway variant
        self.src_variants: dict[int, list[Variant]] = {}
        for ep in inside:
            vs = []
            for dev, iface in ep.gateways:
                vs.append(Variant(f"{dev} {iface}", list(net.bound(dev, iface, "inbound"))))
            self.src_variants[id(ep)] = vs or [Variant("no gateway", [])]
        # destination side: gateway outbound filters (every gateway variant of the destination)
        self.dst_out: list[tuple[Any, list[Variant]]] = []
        for ep in inside:
            vs = [Variant(f"{dev} {iface}", list(net.bound(dev, iface, "outbound"))) for dev, iface in ep.gateways]
            if any(v.hops for v in vs):
                self.dst_out.append((self.ep_space[id(ep)], vs))
        self.fws = net.firewalls()
        self.edges = net.edges()
        self.hosts = net.hosts()
        self.hubs = net.hubs()
        self.transit = net.transit([n for _h, spokes, _i, _o in self.hubs for n in spokes])
        self.spoke_of: dict[int, tuple[str, Filter | Stateful, Filter | Stateful]] = {}
        for ep in inside:
            for host, spokes, hin, hout in self.hubs:
                if all(any(p.subnet_of(s) for s in spokes) for p in ep.prefixes):
                    self.spoke_of[id(ep)] = (host, hin, hout)
        self._build_spaces()

    def _union(self, items: Iterable[BDD]) -> BDD:
        u = self.e.false
        for x in items:
            u = u | x
        return u

    def _stateless(self, hops: list[Filter | Stateful]) -> BDD:
        u = self.e.valid
        for h in hops:
            if isinstance(h, Filter):
                u = u & self.e.admitted(h)
        return u

    def _stateful(self, hop: Stateful, opened: BDD) -> BDD:
        """A stateful hop: its policy's new connections, plus replies of the connections `opened` (what the
        opposite direction admits through the rest of its path) that its reverse policy lets out."""
        e = self.e
        u = e.admitted(hop.policy)
        if hop.reverse is not None:
            u = u | self.policy.reply_space(e.admitted(hop.reverse) & opened)
        return u

    def _hops_space(self, hops: list[Filter | Stateful], opened: BDD) -> BDD:
        u = self._stateless(hops)
        for h in hops:
            if isinstance(h, Stateful):
                hs = self._stateful(h, opened)
                self.hop_sets[h.name] = self.hop_sets.get(h.name, self.e.false) | hs
                u = u & hs
        return u

    def _build_spaces(self) -> None:
        e = self.e
        self.hop_sets: dict[str, BDD] = {}
        inside = [ep for ep in self.eps if not ep.outside]
        # stateless source sets per inside endpoint (may / must)
        self.src_may: dict[int, BDD] = {}
        self.src_must: dict[int, BDD] = {}
        for ep in inside:
            sets = [self._stateless(v.hops) for v in self.src_variants[id(ep)]]
            self.src_may[id(ep)] = self._union(sets)
            must = e.valid
            for s in sets:
                must = must & s
            self.src_must[id(ep)] = must
        inside_out = self._union(self.ep_src[id(ep)] & self.src_may[id(ep)] for ep in inside)
        # VPN hubs: packets from spokes cross the hub's forward chain (as decrypted on its outside interface);
        # packets from elsewhere to spokes cross it the other way
        self.dst_spokes = e.false
        self.hub_in: dict[int, BDD] = {}
        self.to_spokes_may, self.to_spokes_must = e.valid, e.valid
        for _host, spokes, hub_in, hub_out in self.hubs:
            sp_dst = self.net.space_of("dst", spokes)
            sp_src = self.net.space_of("src", spokes)
            self.dst_spokes = self.dst_spokes | sp_dst
            h_in = self._hops_space([hub_in], inside_out & sp_dst)
            h_out = self._hops_space([hub_out], inside_out & sp_src)
            self.to_spokes_may = self.to_spokes_may & (~sp_dst | h_out)
            self.to_spokes_must = self.to_spokes_must & (~sp_dst | h_out)
            for ep in inside:
                if id(ep) in self.spoke_of and self.spoke_of[id(ep)][1] is hub_in:
                    self.hub_in[id(ep)] = h_in
                    self.src_may[id(ep)] = self.src_may[id(ep)] & h_in
                    self.src_must[id(ep)] = self.src_must[id(ep)] & h_in
        # destination-side conditions for packets towards inside endpoints (outbound filters, hosts)
        self.dst_may, self.dst_must = e.valid, e.valid
        for dspace, vs in self.dst_out:
            sets = [self._stateless(v.hops) for v in vs]
            may = self._union(sets)
            must = e.valid
            for s in sets:
                must = must & s
            self.dst_may = self.dst_may & (~dspace | may)
            self.dst_must = self.dst_must & (~dspace | must)
        for _host, (addr, hop) in self.hosts.items():
            at = e.prefix("dst", ipaddress.IPv4Network(addr))
            from_host = e.prefix("src", ipaddress.IPv4Network(addr)) & inside_out
            hs = self._stateful(hop, from_host)
            self.hop_sets[hop.name] = hs
            self.dst_may = self.dst_may & (~at | hs)
            self.dst_must = self.dst_must & (~at | hs)
        # the internet: per firewall, hops in and out
        in_sets, out_sets = [], []
        inet_src = self._union(self.ep_src[id(x)] for x in self.inet)
        for _host, hin, hout in self.fws:
            stateless_in = inet_src & self._stateless(hin)
            in_sets.append(self._hops_space(hin, inside_out & self.dst_inet))
            out_sets.append(self._hops_space(hout, stateless_in))
        if not self.fws and self.inet:
            self.net.unproven.append("no zone firewall found: internet paths not modelled (admit nothing)")
        self.inet_in_may, self.inet_in_must = self._may_must(in_sets)
        self.inet_out_may, self.inet_out_must = self._may_must(out_sets)
        cin, cout = [], []
        for _host, hin, hout in self.edges:
            cin.append(self._stateless(hin))
            cout.append(self._stateless(hout))
        self.city_in_may, self.city_in_must = self._may_must(cin)
        self.transit_may, self.transit_must = self._transit_spaces()
        self.city_out_may, self.city_out_must = self._may_must(cout)

    def _transit_spaces(self) -> tuple[BDD, BDD]:
        """The transit filters as constraints: a packet leaving the endpoints behind a link passes the inbound
        filter on it; a packet entering them passes the outbound one. Links to the same peer on two devices
        (dual-homed) are alternatives: may admit = either, must admit = both. Inbound constraints are kept per
        group and applied to the group's own sources (`transit_for`); outbound ones are returned as one
        constraint on destinations."""
        e = self.e
        groups: dict[tuple[frozenset[int], str], list[BDD]] = {}
        sides: dict[frozenset[int], BDD] = {}
        for _host, _iface, direction, flt, behind in self.transit:
            ids = frozenset(id(x) for x in behind)
            if ids not in sides:
                sides[ids] = self.net.space_of("dst", [p for x in behind for p in x.prefixes])
            groups.setdefault((ids, direction), []).append(e.admitted(flt))
        self.transit_groups: dict[int, list[tuple[BDD, BDD]]] = {}
        may, must = e.valid, e.valid
        for (ids, direction), sets in groups.items():
            m, a = self._may_must(sets)
            db = sides[ids]
            if direction == "inbound":  # for the group's sources: what leaves the group passes the filter
                for i in ids:
                    self.transit_groups.setdefault(i, []).append((db | m, db | a))
            else:  # for every source outside the group: what enters it passes the filter
                sb = self.net.space_of("src", [p for x in self.eps if id(x) in ids for p in x.prefixes])
                may, must = may & (sb | ~db | m), must & (sb | ~db | a)
        return may, must

    def transit_for(self, ep: Endpoint) -> tuple[BDD, BDD]:
        """The transit constraints on packets from `ep` (may, must)."""
        may, must = self.transit_may, self.transit_must
        for m, a in self.transit_groups.get(id(ep), []):
            may, must = may & m, must & a
        return may, must

    def _may_must(self, sets: list[BDD]) -> tuple[BDD, BDD]:
        if not sets:
            return self.e.false, self.e.false
        must = self.e.valid
        for s in sets:
            must = must & s
        return self._union(sets), must

    def network(self, ep: Endpoint) -> tuple[BDD, BDD]:
        """What the network may and must admit from `ep` to every other endpoint (within the universe)."""
        may, must = self._network(ep)
        t_may, t_must = self.transit_for(ep)
        return may & t_may, must & t_must

    def _network(self, ep: Endpoint) -> tuple[BDD, BDD]:
        src = self.ep_src[id(ep)]
        if ep.kind == "internet":
            may = self.inet_in_may & self.dst_inside & self.dst_may & self.to_spokes_may
            must = self.inet_in_must & self.dst_inside & self.dst_must & self.to_spokes_must
        elif ep.kind == "city":
            may = self.city_in_may & self.dst_inside & self.dst_may & self.to_spokes_may
            must = self.city_in_must & self.dst_inside & self.dst_must & self.to_spokes_must
        else:
            own = self.ep_space[id(ep)]
            to_inside = self.dst_inside & ~own
            spoke = id(ep) in self.spoke_of
            d_may = self.dst_may if spoke else self.dst_may & self.to_spokes_may
            d_must = self.dst_must if spoke else self.dst_must & self.to_spokes_must
            may = self.src_may[id(ep)] & ((to_inside & d_may) | (self.dst_inet & self.inet_out_may)
                                          | (self.dst_city & self.city_out_may))
            must = self.src_must[id(ep)] & ((to_inside & d_must) | (self.dst_inet & self.inet_out_must)
                                            | (self.dst_city & self.city_out_must))
        return src & may, src & must

    def attacker(self, ep: Endpoint) -> BDD:
        """What a compromised gateway of `ep` can send with any source address of its segment: every hop after
        its own filter (the VPN hub, transit filters, firewalls, destination filters and hosts) still applies."""
        spoke = id(ep) in self.spoke_of
        d_may = self.dst_may if spoke else self.dst_may & self.to_spokes_may
        devices = {g for g, _ in ep.gateways}
        # the compromised device reaches the segments it is itself the gateway of: no filter can be in between
        own = self._union(self.ep_space[id(x)] for x in self.eps if devices & {g for g, _ in x.gateways})
        to_inside = self.dst_inside & ~own
        u = self.hub_in.get(id(ep), self.e.valid) & ((to_inside & d_may) | (self.dst_inet & self.inet_out_may)
                                                      | (self.dst_city & self.city_out_may))
        return self.ep_src[id(ep)] & u & self.transit_for(ep)[0] & self.universe(ep)

    def universe(self, ep: Endpoint) -> BDD:
        """Every packet from `ep` to another endpoint (outside to outside excluded, the own segment excluded)."""
        src = self.ep_src[id(ep)]
        if ep.outside:
            return src & self.dst_inside & self.e.valid
        return src & (self.dst_inside & ~self.ep_space[id(ep)] | self.dst_inet | self.dst_city) & self.e.valid

    # -- concrete paths for explanations --------------------------------------------------------------------

    def endpoint_of(self, addr: ipaddress.IPv4Address) -> Endpoint | None:
        best: tuple[int, Endpoint] | None = None
        for ep in self.eps:
            for p in ep.prefixes:
                if addr in p and (best is None or p.prefixlen > best[0]):
                    best = (p.prefixlen, ep)
        return best[1] if best else None

    def paths(self, packet: Packet, attacker: bool = False) -> list[Path]:
        """Every modelled path of a concrete packet (one per gateway / firewall variant); with `attacker`, without
        the source gateway's own filters."""
        a, b = self.endpoint_of(packet.src), self.endpoint_of(packet.dst)
        if a is None or b is None:
            return []
        tails: list[tuple[str, list[Filter | Stateful]]] = [("", [])]
        if b.kind == "internet":
            tails = [(h, hout) for h, _hin, hout in self.fws]
        elif b.kind == "city":
            tails = [(h, hout) for h, _hin, hout in self.edges]
        else:
            tail: list[Filter | Stateful] = []
            for ep in self.eps:
                if ep is b:
                    for dev, iface in ep.gateways:
                        tail += self.net.devices[dev].bound(iface, "outbound")
            for _h, (addr, hop) in self.hosts.items():
                if addr == packet.dst:
                    tail.append(hop)
            if id(a) not in self.spoke_of:
                for _host, spokes, _hin, hout in self.hubs:
                    if any(packet.dst in n for n in spokes):
                        tail.insert(0, hout)
            tails = [("", tail)]
        if a.kind == "internet":
            heads = [(h, hin) for h, hin, _hout in self.fws]
        elif a.kind == "city":
            heads = [(h, hin) for h, hin, _hout in self.edges]
        else:
            hub: list[Filter | Stateful] = [self.spoke_of[id(a)][1]] if id(a) in self.spoke_of else []
            heads = []
            for dev, iface in a.gateways:
                first: list[Filter | Stateful] = [] if attacker else list(self.net.devices[dev].bound(iface,
                                                                                                        "inbound"))
                heads.append((f"{dev} {iface}" + (" compromised" if attacker else ""), first + hub))
        mid: list[Filter | Stateful] = []
        for _host, _iface, direction, flt, behind in self.transit:
            src_in = a in behind
            dst_in = b in behind
            if (direction == "inbound" and src_in and not dst_in) or (direction == "outbound" and dst_in
                                                                      and not src_in):
                mid.append(flt)
        out = []
        for hname, head in heads:
            for tname, tail_hops in tails:
                out.append(Path(tuple(head + mid + tail_hops), " / ".join(x for x in (hname, tname) if x)))
        return out

    def explain(self, packet: Packet, attacker: bool = False) -> list[str]:
        """Per path: the deciding line of each hop reached (device, filter, line, rule); with `attacker`, the
        source's gateway filter is left out (a compromised gateway)."""
        out = []
        for p in self.paths(packet, attacker):
            steps = []
            for step in self.e.explain(packet, p):
                hs = self.hop_sets.get(step.hop)
                if step.how == "reply" and hs is not None and not self.e.contains(hs, packet):
                    # no connection the rest of the path lets open has this packet as a reply
                    step = Step(step.hop, None, "deny", "default")
                steps.append(step)
                if step.action == "deny":
                    break
            text = "; ".join(str(s) for s in steps) if steps else "no filter on the path"
            out.append(f"[{p.name or 'path'}] {text}")
        return out

    # -- the run --------------------------------------------------------------------------------------------

    def run(self, flows: list[Flow] | None = None) -> Result:
        """Compare every source endpoint's admitted set with the policy; findings per zone pair."""
        t = time.perf_counter()
        e = self.e
        res = Result()
        zones = sorted({ep.zone for ep in self.eps})
        zone_dst = {z: self._union(self.ep_space[id(ep)] for ep in self.eps if ep.zone == z) for z in zones}
        acc: dict[tuple[str, str, str], BDD] = {}
        covered = e.false
        z_may: dict[str, BDD] = {}
        z_must: dict[str, BDD] = {}
        z_att: dict[str, BDD] = {}
        z_uni: dict[str, BDD] = {}
        outside = sum(1 for ep in self.eps if ep.outside)
        pairs = 0
        self.may: dict[int, BDD] = {}
        self.must: dict[int, BDD] = {}
        for ep in self.eps:
            uni = self.universe(ep)
            may, must = self.network(ep)
            may, must = may & uni, must & uni
            self.may[id(ep)], self.must[id(ep)] = may, must
            # sources are disjoint: per source zone, the unions are the zone's sets, compared with the policy once
            z = ep.zone
            z_may[z] = z_may.get(z, e.false) | may
            z_must[z] = z_must.get(z, e.false) | must
            z_uni[z] = z_uni.get(z, e.false) | uni
            if ep.kind in ATTACKERS and ep.gateways:
                z_att[z] = z_att.get(z, e.false) | self.attacker(ep)
            pairs += len(self.eps) - 1 - (outside - 1 if ep.outside else 0)
        for sz in zones:
            if sz not in z_uni:
                continue
            covered = covered | z_uni[sz]
            pol = self.policy.admitted & z_uni[sz]
            extra = z_may[sz] & ~pol
            parts = (("extra-allow", extra), ("missing-allow", pol & ~z_must[sz]),
                     ("attacker-extra-allow", z_att.get(sz, e.false) & ~pol & ~z_may[sz]))
            for kind, diff in parts:
                if diff == e.false:
                    continue
                for z in zones:
                    d = diff & zone_dst[z]
                    if d != e.false:
                        acc[(kind, sz, z)] = d
        for (kind, sz, dz), d in sorted(acc.items()):
            res.differences.append(self._difference(kind, sz, dz, d))
        total_may = self._union(z_may.values())
        for inv in self.policy.data.get("invariants") or []:
            bad = total_may & self.policy.invariant_space(inv) & ~self.policy.replies
            if bad != e.false:
                row = self._difference("invariant-violated", ",".join(inv["from"]), ",".join(inv["to"]), bad)
                row["message"] = f"invariant {inv['name']} ({inv.get('reason', '')}): " + row["message"]
                row["invariant"] = inv["name"]
                res.differences.append(row)
        for row in res.differences:
            res.findings.append(Finding(row["kind"], f"{row['from']}>{row['to']}", row["message"]))
        if flows:
            res.verdicts = [self.verdict(f) for f in flows]
            res.findings += [mismatch_finding(v, "the exhaustive check") for v in res.verdicts
                             if v.status == "mismatch"]
        res.unproven = [*self.net.unproven, *self.net.unplaced(), *self.policy.unproven,
                        "device management addresses (loopbacks, link networks) are not endpoints: control-plane "
                        "ACLs (ssh/snmp acl 2000-2999) are not part of this proof",
                        "not modelled: IP fragments and options, ICMP errors related to a connection, TCP sequence "
                        "state (stateful hops admit any reply-shaped packet with ACK or RST), spoofed sources "
                        "arriving from the internet or the city with county addresses, IPv6"]
        res.seconds = self.t_parse + time.perf_counter() - t
        res.proven = {
            "endpoints": len(self.eps),
            "endpoint pairs": pairs,
            "packets compared": e.count(covered),
            "header space": "IPv4 protocol, source and destination address, source and destination port, "
                            "TCP flags, ICMP type and code: every packet between every pair of endpoints",
            "filter lines read back": self.net._lines,
            "devices parsed": len(self.net.devices),
            "differences": len(res.differences),
            "attacker model": f"every {' and '.join(ATTACKERS)} gateway compromised, sending with any source "
                              "address of its segment",
            "seconds": round(res.seconds, 2),
        }
        return res

    def _difference(self, kind: str, sz: str, dz: str, d: BDD) -> dict[str, Any]:
        e = self.e
        pkt = e.example(d)
        rule = self.policy.rule_of(pkt)
        regions = e.summarise(d)
        why = self.explain(pkt, attacker=kind == "attacker-extra-allow")
        count = e.count(d)
        verb = {"invariant-violated": "the network admits (not as replies of admitted connections) where the "
                                      "invariant forbids",
                "extra-allow": "the network admits but the policy does not",
                "missing-allow": "the policy admits but the network drops",
                "attacker-extra-allow": "a compromised gateway (any source address of its segment, its own filter "
                                        "bypassed) gets through but the policy does not admit"}[kind]
        shown = "; ".join(str(r) for r in regions[:REGION_LIMIT])
        more = f" (+{len(regions) - REGION_LIMIT} more regions)" if len(regions) > REGION_LIMIT else ""
        msg = (f"{sz} -> {dz}: {count} packets {verb}. Counterexample: {pkt}. Rule: {rule or 'none'}. "
               f"Path: {' | '.join(why) or 'no modelled path'}. Regions: {shown}{more}")
        return {"kind": kind, "from": sz, "to": dz, "packets": count, "example": str(pkt), "rule": rule,
                "explain": why, "regions": [str(r) for r in regions[:200]], "region_count": len(regions),
                "message": msg}

    def verdict(self, flow: Flow) -> Verdict:
        """A probe flow's fate from the exhaustive sets: the request (SYN from port 40000, or ICMP echo) and its
        reply must both be admitted on every path."""
        e = self.e
        try:
            src, dst = ipaddress.IPv4Address(flow.src_address), ipaddress.IPv4Address(flow.dst_address)
        except ValueError:
            return Verdict(flow, UNPROVEN, "address not modelled")
        a, b = self.endpoint_of(src), self.endpoint_of(dst)
        if a is None or b is None or a is b or (a.outside and b.outside):
            return Verdict(flow, UNPROVEN, "not between two modelled endpoints (device management or own segment)")
        if flow.protocol == "icmp":
            req = Packet(ICMP, src, dst, icmp_type=8)
            rep = Packet(ICMP, dst, src, icmp_type=0)
        else:
            proto = TCP if flow.protocol == "tcp" else UDP
            req = Packet(proto, src, dst, 40000, flow.port, 2 if proto == TCP else 0)
            rep = Packet(proto, dst, src, flow.port, 40000, 18 if proto == TCP else 0)
        ok_req = e.contains(self.must[id(a)], req)
        ok_rep = e.contains(self.must[id(b)], rep)
        if ok_req and ok_rep:
            return Verdict(flow, ALLOWED, "request and reply admitted on every path")
        bad = req if not ok_req else rep
        why = "; ".join(self.explain(bad))
        return Verdict(flow, DENIED, f"{'request' if not ok_req else 'reply'} {bad} dropped: {why}")


def check(build: BuildReader, flows: list[Flow] | None = None, engine: Engine | None = None) -> Result:
    """The exhaustive check of a build (raises ModelError when a configuration cannot be read exactly)."""
    return Checker(build, engine).run(flows)
