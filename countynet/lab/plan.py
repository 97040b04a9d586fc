"""The lab's wiring plan: namespaces, veth pairs, bridges, addresses, probes and the outside networks.

A pure function of the intents and the scope (no root needed, unit-tested). L2 switching is collapsed:
every VLAN broadcast domain (found by following trunks, LAGs and access ports between in-scope switches)
becomes ONE Linux bridge, so the dual-homed access switches and the core LAG cannot form a loop and no STP
is needed. A domain with two routers and no LAN (a transit VLAN) becomes a plain veth pair.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from countynet.intent.models import DeviceIntent, Interface
from countynet.lab.linuxify import L2_KINDS, Linuxified, linuxify_full, vrrp_masters
from countynet.outputs.probes import city_host, city_lan, internet_host, internet_lan

MGMT_NET = ipaddress.IPv4Network("198.18.0.0/16")
MGMT_HOST = "198.18.0.1"
MGMT_BRIDGE = "cnmgmt0"
INET_NS = "cn-internet"
CITY_NS = "cn-city"
INET_HOST_NS = "cn-inet-host"
CITY_HOST_NS = "cn-city-host"


def short(host: str) -> str:
    """Hostname without the county prefix (`yx-core-1` -> `core-1`)."""
    return host.split("-", 1)[1] if "-" in host else host


def ns_of(host: str) -> str:
    return f"cn-{short(host)}"


@dataclass
class Veth:
    a_ns: str
    a_if: str
    b_ns: str
    b_if: str


@dataclass
class Bridge:
    ns: str
    name: str


@dataclass
class Port:
    """A veth from `ns:ifname` to a bridge port `port` (in the bridge's namespace)."""

    bridge_ns: str
    bridge: str
    port: str
    ns: str
    ifname: str


@dataclass
class Addr:
    ns: str
    ifname: str
    address: str


@dataclass
class Route:
    ns: str
    prefix: str
    via: str | None = None  # None = blackhole


@dataclass
class Probe:
    ns: str
    zone: str
    address: str  # address/len
    gateway: str
    device: str  # the device whose LAN (or outside network) the probe sits in


@dataclass
class Namespace:
    name: str
    kind: str  # device | probe | internet | city
    host: str | None = None
    mgmt: str | None = None  # mgmt0 address (devices only)
    mgmt_port: str | None = None  # host-side veth name


@dataclass
class CityPeer:
    asn: int
    router_id: str
    neighbor: str
    neighbor_as: int
    prefixes: list[str]
    password: str | None = None  # secret reference of the session's TCP MD5 password (the county side's)
    ttl_hops: int | None = None  # GTSM, as the county side


@dataclass
class LabPlan:
    scope: list[str]
    kernel_esp: bool
    devices: dict[str, Linuxified]
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    veths: list[Veth] = field(default_factory=list)
    bridges: list[Bridge] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    addrs: list[Addr] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    city: CityPeer | None = None
    ospf_expect: dict[str, set[str]] = field(default_factory=dict)
    bgp_expect: dict[str, set[str]] = field(default_factory=dict)

    def device_ns(self, host: str) -> str:
        return ns_of(host)


class _UF:
    def __init__(self) -> None:
        self.p: dict[tuple[str, int], tuple[str, int]] = {}

    def find(self, x: tuple[str, int]) -> tuple[str, int]:
        self.p.setdefault(x, x)
        while self.p[x] != x:
            self.p[x] = self.p[self.p[x]]
            x = self.p[x]
        return x

    def union(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        self.p[self.find(a)] = self.find(b)


def _carried(i: Interface) -> set[int]:
    return {i.vlan} if i.kind == "access" and i.vlan is not None else set(i.vlans)


def _peer_iface(intents: Mapping[str, DeviceIntent], host: str, i: Interface) -> Interface | None:
    assert i.peer
    other = intents[i.peer.host]
    if i.kind == "lag":
        return next((j for j in other.interfaces if j.kind == "lag" and j.peer and j.peer.host == host), None)
    return next((j for j in other.interfaces if j.name == i.peer.interface), None)


def build(intents: Mapping[str, DeviceIntent], scope: Collection[str], kernel_esp: bool) -> LabPlan:
    """The whole plan for `scope` (hostnames)."""
    hosts = sorted(scope)
    masters = vrrp_masters(intents, hosts)
    devs = {h: linuxify_full(intents[h], hosts, masters) for h in hosts}
    plan = LabPlan(hosts, kernel_esp, devs)
    mgmt = MGMT_NET.network_address + 2
    for k, h in enumerate(hosts):
        plan.namespaces[ns_of(h)] = Namespace(ns_of(h), "device", h, f"{mgmt + k}/{MGMT_NET.prefixlen}", f"cm{k}")

    # ---- L2 domains
    uf = _UF()
    endpoints: dict[tuple[str, int], list[tuple[str, str]]] = {}  # node -> [(host, orig ifname)]
    attached: set[tuple[str, str]] = set()
    for h in hosts:
        d = intents[h]
        for i in d.interfaces:
            if i.kind == "svi" and i.vlan is not None and i.name in devs[h].names:
                endpoints.setdefault((h, i.vlan), []).append((h, i.name))
                uf.find((h, i.vlan))
            if i.kind not in ("access", "trunk", "lag") or not i.peer or i.peer.host not in devs:
                continue
            pi = _peer_iface(intents, h, i)
            if pi is None:
                continue
            if pi.kind in ("access", "trunk", "lag"):
                for v in _carried(i) & _carried(pi):
                    uf.union((h, v), (i.peer.host, v))
            elif pi.kind == "routed" and i.kind == "access" and i.vlan is not None:
                endpoints.setdefault((h, i.vlan), []).append((i.peer.host, pi.name))
                attached.add((i.peer.host, pi.name))
    segs: dict[tuple[str, int], list[tuple[str, str]]] = {}
    members: dict[tuple[str, int], set[str]] = {}
    for node in list(uf.p):
        members.setdefault(uf.find(node), set()).add(node[0])
    for node, eps in endpoints.items():
        segs.setdefault(uf.find(node), []).extend(eps)
    for root in sorted(segs):
        _segment(plan, intents, root[1], sorted(set(segs[root])), members.get(root, set()))

    # ---- routed point-to-point links
    done: set[tuple[str, str]] = set()
    for h in hosts:
        for i in intents[h].interfaces:
            if (i.kind != "routed" or not i.peer or i.peer.host not in devs or (h, i.name) in attached
                    or (h, i.name) in done):
                continue
            pi = _peer_iface(intents, h, i)
            if pi is None or pi.kind != "routed" or (i.peer.host, pi.name) in attached:
                continue
            done |= {(h, i.name), (i.peer.host, pi.name)}
            a, b = devs[h].names[i.name], devs[i.peer.host].names[pi.name]
            plan.veths.append(Veth(ns_of(h), a, ns_of(i.peer.host), b))
            _expect_ospf(plan, h, i, i.peer.host, pi)

    # ---- LANs on routed ports (Cisco-style unit routers): the probe host hangs directly off the port
    for h in hosts:
        for i in intents[h].interfaces:
            if (i.kind == "routed" and not i.peer and not i.link and i.address and i.zone
                    and i.zone != "device-mgmt" and i.name in devs[h].names):
                net = ipaddress.IPv4Interface(i.address).network
                gw = ipaddress.IPv4Interface(i.address).ip
                addr = next(a for a in reversed(list(net.hosts())) if a != gw)
                lname = devs[h].names[i.name]
                pns = f"cnp-{short(h)}-{lname}"
                plan.namespaces[pns] = Namespace(pns, "probe", h)
                plan.veths.append(Veth(ns_of(h), lname, pns, "eth0"))
                plan.addrs.append(Addr(pns, "eth0", f"{addr}/{net.prefixlen}"))
                plan.routes.append(Route(pns, "0.0.0.0/0", str(gw)))
                plan.probes.append(Probe(pns, i.zone, f"{addr}/{net.prefixlen}", str(gw), h))

    # ---- addresses of every kept interface, VRRP addresses, loopbacks
    for h, lx in devs.items():
        for i in lx.intent.interfaces:
            if i.address and i.kind != "tunnel":
                plan.addrs.append(Addr(ns_of(h), i.name, i.address))
        for i in intents[h].interfaces:  # route-based tunnels run policy-based here; their address stays
            if i.kind == "tunnel" and i.address:
                plan.addrs.append(Addr(ns_of(h), "lo", f"{i.address.split('/')[0]}/32"))
        for ifname, vip in lx.vips.items():
            plan.addrs.append(Addr(ns_of(h), ifname, vip))
    _outside(plan, intents)
    return plan


def _expect_ospf(plan: LabPlan, h1: str, i1: Interface, h2: str, i2: Interface) -> None:
    o1, o2 = plan.devices[h1].intent.routing.ospf, plan.devices[h2].intent.routing.ospf
    if not (o1 and o2 and i1.ospf and i2.ospf) or i1.ospf.passive or i2.ospf.passive:
        return
    plan.ospf_expect.setdefault(h1, set()).add(o2.router_id)
    plan.ospf_expect.setdefault(h2, set()).add(o1.router_id)


def _segment(plan: LabPlan, intents: Mapping[str, DeviceIntent], vlan: int, eps: list[tuple[str, str]],
             l2hosts: set[str]) -> None:
    ifs = {(h, n): intents[h].interface(n) for h, n in eps}
    lans = sorted((i for i in ifs.values() if i.kind == "svi" and i.zone and i.zone != "device-mgmt"
                   and i.address), key=lambda i: i.vrrp is None)
    zone = lans[0].zone if lans else None
    vrrp = any(i.vrrp for i in ifs.values())
    lnames = {(h, n): plan.devices[h].names[n] for h, n in eps}
    if len(eps) == 2 and not zone and not vrrp:
        (h1, _n1), (h2, _n2) = eps
        plan.veths.append(Veth(ns_of(h1), lnames[eps[0]], ns_of(h2), lnames[eps[1]]))
        _expect_ospf(plan, h1, ifs[eps[0]], h2, ifs[eps[1]])
        return
    ep_hosts = {h for h, _ in eps}
    pure = sorted(l2hosts - ep_hosts, key=lambda x: (intents[x].role != "access_switch", x))
    if pure:
        owner, bname, self_ep = pure[0], f"br{vlan}", None
    else:
        self_ep = next(((h, n) for h, n in eps if ifs[(h, n)].kind == "svi"), eps[0])
        owner, bname = self_ep[0], lnames[self_ep]
    bns = ns_of(owner)
    plan.bridges.append(Bridge(bns, bname))
    k = sum(1 for p in plan.ports if p.bridge_ns == bns)
    for ep in eps:
        if ep == self_ep:
            continue
        plan.ports.append(Port(bns, bname, f"p{vlan}x{k}", ns_of(ep[0]), lnames[ep]))
        k += 1
    ospf_eps = [ep for ep in eps if ifs[ep].ospf and not ifs[ep].ospf.passive]  # type: ignore[union-attr]
    for a in ospf_eps:
        for b in ospf_eps:
            if a[0] != b[0]:
                _expect_ospf(plan, a[0], ifs[a], b[0], ifs[b])
    if not zone:
        return
    svi = lans[0]
    net = ipaddress.IPv4Interface(svi.address).network
    used = {ipaddress.IPv4Interface(i.address).ip for i in ifs.values() if i.address}
    used |= {ipaddress.IPv4Address(i.vrrp.vip) for i in ifs.values() if i.vrrp}
    addr = next(a for a in reversed(list(net.hosts())) if a not in used)
    gw = svi.vrrp.vip if svi.vrrp else str(ipaddress.IPv4Interface(svi.address).ip)
    pns = f"cnp-{short(owner)}-{vlan}"
    plan.namespaces[pns] = Namespace(pns, "probe", owner)
    plan.ports.append(Port(bns, bname, f"p{vlan}x{k}", pns, "eth0"))
    plan.addrs.append(Addr(pns, "eth0", f"{addr}/{net.prefixlen}"))
    plan.routes.append(Route(pns, "0.0.0.0/0", gw))
    owner_dev = next(h for h, n in eps if ifs[(h, n)] is svi)
    plan.probes.append(Probe(pns, zone, f"{addr}/{net.prefixlen}", gw, owner_dev))


def _gateway(d: DeviceIntent, address: str) -> str:
    """The outside router's address on this device's outside network (from its routes, else the first host)."""
    iface = ipaddress.IPv4Interface(address)
    cands = [r.next_hop for r in d.routing.static if r.next_hop]
    if d.routing.bgp:
        cands += [n.address for n in d.routing.bgp.neighbors]
    for c in cands:
        if c and ipaddress.IPv4Address(c) in iface.network and ipaddress.IPv4Address(c) != iface.ip:
            return c
    return str(next(a for a in iface.network.hosts() if a != iface.ip))


def _outside(plan: LabPlan, intents: Mapping[str, DeviceIntent]) -> None:
    """The internet and the city: one namespace each, linked to every in-scope outside interface."""
    n_inet = n_city = 0
    for h, lx in sorted(plan.devices.items()):
        d = intents[h]
        for i in lx.intent.interfaces:
            if i.peer or not i.link or not i.address or not i.link.startswith(("uplink:", "broadband:")):
                continue
            gw = _gateway(d, i.address)
            plen = i.address.split("/")[1]
            if i.zone == "city":
                ns, ifn = CITY_NS, f"c{n_city}"
                n_city += 1
                bgp = d.routing.bgp
                nb = next((n for n in bgp.neighbors if n.address == gw), None) if bgp else None
                if bgp and nb and plan.city is None:
                    plan.city = CityPeer(nb.remote_as, gw, i.address.split("/")[0], bgp.asn,
                                         list(nb.import_prefixes), nb.auth_secret, nb.ttl_hops)
                    plan.bgp_expect.setdefault(h, set()).add(gw)
            else:
                ns, ifn = INET_NS, f"x{n_inet}"
                n_inet += 1
            plan.namespaces.setdefault(ns, Namespace(ns, "internet" if ns == INET_NS else "city"))
            plan.veths.append(Veth(ns_of(h), i.name, ns, ifn))
            plan.addrs.append(Addr(ns, ifn, f"{gw}/{plen}"))
            nat = lx.intent.nat
            if ns == INET_NS and nat and nat.outside_interface == i.name:
                for s in nat.static:
                    route = Route(INET_NS, f"{s.outside}/32", i.address.split("/")[0])
                    if route not in plan.routes:
                        plan.routes.append(route)
    if INET_NS in plan.namespaces:
        used = [ipaddress.IPv4Interface(i.address).network for d in intents.values() for i in d.interfaces
                if i.address]
        lan = internet_lan(used)  # shared with verify's probe set: its internet probes come from this host
        gw = str(lan.network_address + 1)
        plan.namespaces[INET_HOST_NS] = Namespace(INET_HOST_NS, "probe", "internet")
        plan.veths.append(Veth(INET_NS, "h0", INET_HOST_NS, "eth0"))
        host = f"{internet_host(used)}/24"  # the policy matrix's internet probe: TEST-NET-1 .100
        plan.addrs += [Addr(INET_NS, "h0", f"{gw}/24"), Addr(INET_HOST_NS, "eth0", host)]
        plan.routes.append(Route(INET_HOST_NS, "0.0.0.0/0", gw))
        plan.probes.append(Probe(INET_HOST_NS, "internet", host, gw, "internet"))
    if CITY_NS in plan.namespaces and plan.city and plan.city.prefixes:
        lan = city_lan(plan.city.prefixes[0])
        gw = str(lan.network_address + 1)
        plan.namespaces[CITY_HOST_NS] = Namespace(CITY_HOST_NS, "probe", "city")
        plan.veths.append(Veth(CITY_NS, "h0", CITY_HOST_NS, "eth0"))
        host = f"{city_host(plan.city.prefixes[0])}/24"
        plan.addrs += [Addr(CITY_NS, "h0", f"{gw}/24"), Addr(CITY_HOST_NS, "eth0", host)]
        plan.routes.append(Route(CITY_HOST_NS, "0.0.0.0/0", gw))
        for p in plan.city.prefixes:
            plan.routes.append(Route(CITY_NS, p, None))
        plan.probes.append(Probe(CITY_HOST_NS, "city", host, gw, "city"))


def unused_l2(d: DeviceIntent) -> list[str]:
    """Switch ports the Linux box drops (for reports)."""
    return [i.name for i in d.interfaces if i.kind in L2_KINDS]
