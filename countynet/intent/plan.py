"""Steps 1 and 2 of the intent stage: what the topology implies, then where everything goes.

1. :func:`plan` walks the topology once and declares every device (with its hardware and platform flavour),
   every link with its two ends, and every address request. Nothing is numbered yet.
2. :func:`allocate` resolves ports, transit VLANs, aggregate numbers and addresses against the pins and the
   lock file (:mod:`countynet.ipam.allocator`).

Both report every problem of their step together (TopologyError); neither writes anything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from countynet.errors import Collector
from countynet.intent.hosting import expand
from countynet.ipam import hold
from countynet.ipam.allocator import AddressPlan, SlotPlan
from countynet.ipam.placement import Placement
from countynet.platforms import Flavour
from countynet.topology import naming
from countynet.topology.models import Hardware, TownshipFile
from countynet.topology.ranges import expand_ports
from countynet.topology.validated import Topology

Src = tuple[str, tuple[Any, ...]]  # (file key, YAML path) where a device or link is written


def area_id(n: int) -> str:
    """OSPF area number in dotted form: 11 -> '0.0.0.11'."""
    return str(ipaddress.IPv4Address(n))


BACKBONE = area_id(0)


@dataclass(frozen=True)
class DevicePlan:
    """One device the topology implies, before anything is numbered."""

    name: str
    role: str
    hw_name: str
    hw: Hardware
    site: str
    wave: int
    township: str | None = None
    unit: str | None = None
    village: str | None = None
    src: Src = ("county", ())

    @property
    def flavour(self) -> Flavour:
        return self.hw.spec


@dataclass(frozen=True)
class End:
    device: str
    port: str | None   # explicit interface name
    group: str | None  # port group to take a free port from


@dataclass(frozen=True)
class LinkPlan:
    id: str
    a: End
    b: End
    type: str  # routed | trunk | lag | access
    pool: str | None = None
    parent: str | None = None
    pin: str | None = None
    vlans: tuple[int, ...] = ()
    members: int = 1
    area: str | None = None
    cost: int = 10
    src: Src = ("centre", ())
    description: str = ""

    def owner(self, side: str) -> str:
        """The name this end's port is allocated under (a link between two ports of one device has two)."""
        return f"{self.id}:{side}" if self.a.device == self.b.device else self.id


@dataclass(frozen=True)
class AddressRequest:
    pool: str
    owner: str
    parent: str | None = None
    pin: str | None = None
    src: Src | None = None


@dataclass(frozen=True)
class Plan:
    devices: Mapping[str, DevicePlan]
    links: tuple[LinkPlan, ...]
    addresses: tuple[AddressRequest, ...]
    topo: Topology | None = None        # the topology with the hosted servers in its centre (intent.hosting)
    placement: Placement | None = None  # where every hosted server sits (ipam.placement)


@dataclass(frozen=True)
class Allocation:
    """Every allocated address, port, transit VLAN and aggregate number: the new lock file's contents."""

    addresses: Mapping[str, Mapping[str, str]]            # pool -> owner -> prefix
    ports: Mapping[str, Mapping[str, str | int]]          # device -> owner -> port
    transit_vlans: Mapping[str, Mapping[str, str | int]]  # device -> link -> VLAN id
    lags: Mapping[str, Mapping[str, str | int]]           # device -> link -> aggregate number
    freed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # pool -> prefix -> hold (ipam.hold)
    placement: Mapping[str, Any] = field(default_factory=dict)  # hosted servers (ipam.placement), lock section

    def lock(self) -> dict[str, Any]:
        out = {"version": 1, "addresses": self.addresses, "ports": self.ports, "vlans": self.transit_vlans,
               "lags": self.lags}
        if self.freed:
            out["freed"] = self.freed
        if self.placement:
            out["placement"] = self.placement
        return out


@dataclass
class _Planner:
    t: Topology
    col: Collector = field(default_factory=lambda: Collector("build"))
    devices: dict[str, DevicePlan] = field(default_factory=dict)
    links: list[LinkPlan] = field(default_factory=list)
    requests: list[AddressRequest] = field(default_factory=list)

    def request(self, pool: str, owner: str, parent: str | None = None, pin: str | None = None,
                src: Src | None = None) -> None:
        self.requests.append(AddressRequest(pool, owner, parent, pin, src))

    def device(self, name: str, role: str, kit: str, site: str, wave: int, src: Src, township: str | None = None,
               unit: str | None = None, village: str | None = None) -> None:
        hw_name = self.t.catalog.kits[kit].hardware
        if name in self.devices:
            self.col.add(self.t.diag(src[0], src[1], f"device name {name!r} is generated twice",
                                     "rename the site or village"))
        self.devices[name] = DevicePlan(name, role, hw_name, self.t.catalog.hardware[hw_name], site, wave, township,
                                        unit, village, src)

    def end(self, spec: str) -> End:
        dev, _, port = spec.partition(":")
        if not port:
            return End(dev, None, None)
        d = self.devices.get(dev)
        if d and port in d.hw.ports:
            return End(dev, None, port)
        return End(dev, port, None)

    def centre(self) -> None:
        c = self.t.centre
        zones = {z.name: z for z in c.zones}
        for i, d in enumerate(c.devices):
            self.device(d.name, d.role, d.kit, "centre", d.wave, ("centre", ("devices", i)))
            if d.role != "access_switch":
                self.request("loopback", d.name, pin=d.loopback, src=("centre", ("devices", i, "loopback")))
            else:
                self.request("zone_host", d.name, parent="management")
        if self.t.county.pools.inbound_nat:  # every internet exit after the primary (docs/design.md "Dual ISP")
            for fw in sorted(d.name for d in c.devices if d.role == "firewall")[1:]:
                self.request("inbound_nat", fw)
        for i, s in enumerate(c.servers):
            src = self.t.placed_src.get(s.name, ("centre", ("servers", i)))  # a hosted server: its units.yaml line
            self.device(s.name, "server", s.kit, "centre", 0, src)
            self.request("zone_host", s.name, parent=s.zone, pin=s.address, src=("centre", ("servers", i, "address")))
        for i, z in enumerate(c.zones):
            self.request("centre_zone", z.name, pin=z.prefix, src=("centre", ("zones", i, "prefix")))
        seen: dict[str, int] = {}
        mgmt = zones.get("management")
        for i, link in enumerate(c.links):
            a, b = self.end(link.a), self.end(link.b)
            base = f"{a.device}--{b.device}"
            seen[base] = seen.get(base, 0) + 1
            # a parallel link of the same pair: `.n` (`#n` names the members of an aggregate, see ports below)
            lid = base if seen[base] == 1 else f"{base}.{seen[base]}"
            vlans = [zones[v].vlan for v in link.vlans]
            roles = {self.devices[e.device].role for e in (a, b) if e.device in self.devices}
            if link.type != "routed" and "access_switch" in roles and mgmt and mgmt.vlan not in vlans:
                vlans.append(mgmt.vlan)  # access switches are managed in-band over their uplinks
            lp = LinkPlan(lid, a, b, link.type, "p2p" if link.type == "routed" else None, None, link.prefix,
                          tuple(vlans), link.members if link.type == "lag" else 1, BACKBONE, link.ospf_cost,
                          ("centre", ("links", i)))
            self.links.append(lp)
            if lp.pool:
                self.request("p2p", lid, pin=link.prefix, src=("centre", ("links", i, "prefix")))
        for i, s in enumerate(c.servers):
            placed = self.t.placed_ports.get(s.name)  # a hosted server is cabled to its placed port
            self.links.append(LinkPlan(f"{s.name}--{s.switch}", End(s.name, None, "lan"),
                                       End(s.switch, placed, None if placed else "access"), "access",
                                       vlans=(zones[s.zone].vlan,),
                                       src=self.t.placed_src.get(s.name, ("centre", ("servers", i)))))

    def units(self) -> None:
        u = self.t.units
        prefix = self.t.county.county.prefix
        for i, unit in enumerate(u.units):
            name = naming.unit_router(prefix, unit.id)
            self.device(name, "unit_router", unit.kit or u.default_kit, f"unit:{unit.id}",
                        u.default_wave if unit.wave is None else unit.wave, ("units", ("units", i)), unit=unit.id)
            self.request("loopback", name)
            self.request("unit_lan", unit.id, pin=unit.lan_prefix, src=("units", ("units", i, "lan_prefix")))
            lid = f"uplink:unit:{unit.id}"
            self.links.append(LinkPlan(lid, End(u.attach_to, None, "downlink"), End(name, None, "wan"), "routed",
                                       "p2p", area=area_id(self.t.county.routing.unit_area),
                                       src=("units", ("units", i)), description=f"leased line {unit.name_en}"))
            self.request("p2p", lid)

    def township(self, tw: TownshipFile) -> None:
        prefix = self.t.county.county.prefix
        key = f"township:{tw.id}"
        area = area_id(tw.area)
        rt = naming.township_router(prefix, tw.id)
        sw = naming.township_switch(prefix, tw.id)
        self.device(rt, "township_router", tw.router_kit, key, tw.wave, (key, ("router_kit",)), township=tw.id)
        self.device(sw, "township_switch", tw.switch_kit, key, tw.wave, (key, ("switch_kit",)), township=tw.id)
        for block in ("township_lan_block", "township_link_block", "village_block"):
            self.request(block, tw.id)
        for d in (rt, sw):
            self.request("loopback", d)
        self.request("township_lan", f"{tw.id}:gov", parent=tw.id)
        self.request("township_lan", f"{tw.id}:stations", parent=tw.id)
        lid = f"uplink:township:{tw.id}"
        self.links.append(LinkPlan(lid, End(tw.attach_to, None, "downlink"), End(rt, None, "wan"), "routed", "p2p",
                                   area=area, src=(key, ("attach_to",)), description=f"leased line {tw.pinyin}"))
        self.request("p2p", lid)
        lid = f"{rt}--{sw}"
        self.links.append(LinkPlan(lid, End(rt, None, "lan"), End(sw, None, "uplink"), "routed", "township_link",
                                   tw.id, area=area, src=(key, ("switch_kit",))))
        self.request("township_link", lid, parent=tw.id)
        for i, v in enumerate(tw.villages):
            name = naming.village_cpe(prefix, tw.id, v.id)
            self.device(name, "village_cpe", v.kit or tw.village_kit, key, tw.wave, (key, ("villages", i)),
                        township=tw.id, village=v.id)
            self.request("loopback", name)
            self.request("village_lan", f"{tw.id}/{v.id}", parent=tw.id)
            if v.attach == "leased":
                lid = f"uplink:village:{tw.id}/{v.id}"
                self.links.append(LinkPlan(lid, End(rt, None, "downlink"), End(name, None, "wan"), "routed",
                                           "township_link", tw.id, area=area, src=(key, ("villages", i)),
                                           description=" ".join(["leased line village", v.id, v.code or ""]).strip()))
                self.request("township_link", lid, parent=tw.id)
            else:
                self.request("broadband", f"{tw.id}/{v.id}")
                self.request("tunnel", f"{tw.id}/{v.id}")

    def hardware_fits(self) -> None:
        """Port groups a device's role needs beyond its links: a LAN gateway's LAN, a server's NIC, a VPN
        village's broadband port."""
        for d in self.devices.values():
            need = None
            if d.role in ("unit_router", "village_cpe") and not d.hw.vlan_if and \
                    not expand_ports(d.hw.ports.get("lan", d.hw.ports.get("access", []))):
                need = ("lan", f"model {d.hw_name} has no 'lan' or 'access' ports, but {d.name} is the gateway of "
                        "a LAN", "list the LAN ports under ports.lan, or give the model a vlan_if")
            elif d.role == "server" and not d.hw.ports.get("lan"):
                need = ("lan", f"model {d.hw_name} has no 'lan' port, but {d.name} is a server",
                        "list the server's network port under ports.lan")
            if need:
                self.col.add(self.t.diag("catalog", ["hardware", d.hw_name, "ports"], need[1], need[2]))
        prefix = self.t.county.county.prefix
        vpn = {naming.village_cpe(prefix, tw.id, v.id) for tw in self.t.townships for v in tw.villages
               if v.attach == "vpn"}
        for name in sorted(vpn):
            d = self.devices[name]
            if not d.hw.ports.get("wan"):
                self.col.add(self.t.diag("catalog", ["hardware", d.hw_name, "ports"],
                                         f"model {d.hw_name} has no 'wan' port, but {d.name} is a VPN village on "
                                         "broadband", "list the broadband port under ports.wan"))


def plan(t: Topology, lock: Mapping[str, Any] | None = None) -> Plan:
    """Every device, link and address request the topology implies, its hosted servers placed against `lock`
    (docs/hosting.md); TopologyError on a clash or a server that fits no rack."""
    t, placement = expand(t, lock or {})
    p = _Planner(t)
    p.centre()
    p.units()
    for tw in t.townships:
        p.township(tw)
    p.hardware_fits()
    p.col.raise_if_errors()
    return Plan(p.devices, tuple(p.links), tuple(p.requests), t, placement)


def allocate(t: Topology, p: Plan, lock: Mapping[str, Any]) -> Allocation:
    """Ports, transit VLANs, aggregates and addresses for the plan, stable against `lock`; TopologyError with
    every problem (no free port, exhausted pool, overlapping pins...)."""
    col = Collector("build")
    on = hold.today()
    addr = AddressPlan(t.county.pools, lock.get("addresses"), held=hold.active(lock.get("freed"), on))
    for r in p.addresses:
        addr.request(r.pool, r.owner, r.parent, r.pin, (r.src[0], list(r.src[1])) if r.src else None)
    ports, tvlans, lags = SlotPlan(lock.get("ports")), SlotPlan(lock.get("vlans")), SlotPlan(lock.get("lags"))
    vl = t.county.vlans
    transit = list(range(vl.transit_first, vl.transit_last + 1))
    for lp in p.links:
        for side, end in (("a", lp.a), ("b", lp.b)):
            d = p.devices.get(end.device)
            if d is None:
                continue
            owner = lp.owner(side)
            if end.port:
                ports.pin(d.name, owner, end.port)
                continue
            group = end.group or next(iter(d.hw.ports))
            choices = expand_ports(d.hw.ports.get(group, []))
            if not choices:
                col.add(t.diag(lp.src[0], lp.src[1], f"{d.name} ({d.hw_name}) has no port group {group!r}",
                               f"use one of {', '.join(d.hw.ports)}"))
                continue
            for m in range(lp.members):
                ports.request(d.name, owner if lp.members == 1 else f"{owner}#{m + 1}", choices)
            if lp.type == "lag":
                lags.request(d.name, lp.id, list(range(1, 65)))
            if lp.type == "routed" and d.hw.kind == "switch":
                tvlans.request(d.name, lp.id, transit)
    ports.resolve()
    tvlans.resolve()
    lags.resolve()
    addr.resolve()
    for slots in (ports, tvlans, lags):
        for pr in slots.problems:
            src = p.devices[pr.pool].src if pr.pool in p.devices else ("county", ())
            col.add(t.diag(src[0], src[1], pr.message, pr.hint))
    for pr in addr.problems:
        where = pr.src or ("county", ["pools", pr.pool])
        col.add(t.diag(where[0], where[1], pr.message, pr.hint))
    col.raise_if_errors()
    freed = hold.update(lock.get("addresses"), addr.result, lock.get("freed"), on)
    placed = p.placement.lock() if p.placement and p.placement.servers else {}
    return Allocation(addr.result, ports.result, tvlans.result, lags.result, freed, placed)
