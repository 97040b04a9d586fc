"""Topology -> addresses -> per-device intent.

The one place where facts are derived. It runs in three steps:
1. *plan*: walk the topology, declare every device, link and address request;
2. *allocate*: resolve ports, VLANs and addresses against pins and the lock (:mod:`countynet.ipam.allocator`);
3. *intent*: build one :class:`~countynet.intent.models.DeviceIntent` per device from the resolved plan.
Every problem of a step is reported together; nothing is written here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from countynet.errors import Collector
from countynet.intent import models as I
from countynet.ipam.addr import host, ip
from countynet.ipam.allocator import AddressPlan, SlotPlan
from countynet.topology.loader import Topology
from countynet.topology.models import Hardware
from countynet.topology.policy_models import parse_port
from countynet.topology.ranges import expand_ports



def area_id(n: int) -> str:
    return str(ipaddress.IPv4Address(n))


@dataclass
class Dev:
    name: str
    role: str
    hw_name: str
    hw: Hardware
    site: str
    wave: int
    township: str | None = None
    unit: str | None = None
    src: tuple[str, list[Any]] = ("county", [])
    ifaces: list[I.Interface] = field(default_factory=list)
    vlans: dict[int, str] = field(default_factory=dict)
    statics: list[I.StaticRoute] = field(default_factory=list)
    areas: dict[str, I.OspfArea] = field(default_factory=dict)
    dhcp: list[I.DhcpPool] = field(default_factory=list)
    vpn: I.Vpn | None = None  # a spoke's VPN, set while wiring its village
    vpn_peers: list[I.VpnPeer] = field(default_factory=list)  # a hub's peers, one per VPN village


@dataclass
class End:
    device: str
    port: str | None  # explicit interface name
    group: str | None  # port group to take a free port from


@dataclass
class LinkPlan:
    id: str
    a: End
    b: End
    type: str  # routed | trunk | lag | access
    pool: str | None = None
    parent: str | None = None
    pin: str | None = None
    vlans: list[int] = field(default_factory=list)
    members: int = 1
    area: str | None = None
    cost: int = 10
    src: tuple[str, list[Any]] = ("centre", [])
    description: str = ""


class Builder:
    def __init__(self, topo: Topology, lock: dict[str, Any]):
        self.t = topo
        self.lock = lock
        self.col = Collector("build")
        self.devs: dict[str, Dev] = {}
        self.links: list[LinkPlan] = []
        self.addr = AddressPlan(topo.county.pools, lock.get("addresses"))
        self.ports = SlotPlan(lock.get("ports"))
        self.tvlans = SlotPlan(lock.get("vlans"))
        self.lags = SlotPlan(lock.get("lags"))
        self.p = topo.county.pools
        self.prefix = topo.county.county.prefix
        self.zone_by_name = {z.name: z for z in topo.centre.zones}
        self._dns: list[str] | None = None
        self._aggs: list[ipaddress.IPv4Network] | None = None

    # ------------------------------------------------------------------ helpers
    def diag(self, src: tuple[str, list[Any]], msg: str, hint: str) -> None:
        self.col.add(self.t.diag(src[0], src[1], msg, hint))

    def add_dev(self, name: str, role: str, kit: str, site: str, wave: int, src: tuple[str, list[Any]],
                township: str | None = None, unit: str | None = None) -> Dev:
        hw_name = self.t.catalog.kits[kit].hardware
        d = Dev(name, role, hw_name, self.t.catalog.hardware[hw_name], site, wave, township, unit, src)
        if name in self.devs:
            self.diag(src, f"device name {name!r} is generated twice", "rename the site or village")
        self.devs[name] = d
        return d

    def end(self, spec: str) -> End:
        dev, _, port = spec.partition(":")
        if not port:
            return End(dev, None, None)
        d = self.devs.get(dev)
        if d and port in d.hw.ports:
            return End(dev, None, port)
        return End(dev, port, None)

    def link_add(self, lp: LinkPlan) -> None:
        self.links.append(lp)

    # ------------------------------------------------------------------ 1. plan
    def plan(self) -> None:
        t = self.t
        c = t.centre
        for i, d in enumerate(c.devices):
            dev = self.add_dev(d.name, d.role, d.kit, "centre", d.wave, ("centre", ["devices", i]))
            if d.role != "access_switch":
                self.addr.request("loopback", d.name, pin=d.loopback, src=("centre", ["devices", i, "loopback"]))
            else:
                self.addr.request("zone_host", f"{d.name}", parent="management")
            dev.vlans = {}
        for i, s in enumerate(c.servers):
            self.add_dev(s.name, "server", s.kit, "centre", 0, ("centre", ["servers", i]))
            self.addr.request("zone_host", s.name, parent=s.zone, pin=s.address,
                              src=("centre", ["servers", i, "address"]))
        for i, z in enumerate(c.zones):
            self.addr.request("centre_zone", z.name, pin=z.prefix, src=("centre", ["zones", i, "prefix"]))
        seen: dict[str, int] = {}
        for i, link in enumerate(c.links):
            a, b = self.end(link.a), self.end(link.b)
            base = f"{a.device}--{b.device}"
            seen[base] = seen.get(base, 0) + 1
            lid = base if seen[base] == 1 else f"{base}#{seen[base]}"
            vlans = [self.zone_by_name[v].vlan for v in link.vlans]
            roles = {self.devs[e.device].role for e in (a, b) if e.device in self.devs}
            mgmt = self.zone_by_name.get("management")
            if link.type != "routed" and "access_switch" in roles and mgmt and mgmt.vlan not in vlans:
                vlans.append(mgmt.vlan)  # access switches are managed in-band over their uplinks
            lp = LinkPlan(lid, a, b, link.type, "p2p" if link.type == "routed" else None, None, link.prefix,
                          vlans, link.members if link.type == "lag" else 1, area_id(0), link.ospf_cost,
                          ("centre", ["links", i]))
            self.link_add(lp)
            if lp.pool:
                self.addr.request("p2p", lid, pin=link.prefix, src=("centre", ["links", i, "prefix"]))
        for i, s in enumerate(c.servers):
            self.link_add(LinkPlan(f"{s.name}--{s.switch}", End(s.name, None, "lan"), End(s.switch, None, "access"),
                                   "access", vlans=[self.zone_by_name[s.zone].vlan], src=("centre", ["servers", i])))
        # access switches manage themselves through the management VLAN; cores route every zone
        u = t.units
        for i, unit in enumerate(u.units):
            name = f"{self.prefix}-u-{unit.id}"
            self.add_dev(name, "unit_router", unit.kit or u.default_kit, f"unit:{unit.id}",
                         u.default_wave if unit.wave is None else unit.wave, ("units", ["units", i]),
                         unit=unit.id)
            self.addr.request("loopback", name)
            self.addr.request("unit_lan", unit.id, pin=unit.lan_prefix, src=("units", ["units", i, "lan_prefix"]))
            lid = f"uplink:unit:{unit.id}"
            self.link_add(LinkPlan(lid, End(u.attach_to, None, "downlink"), End(name, None, "wan"), "routed",
                                   "p2p", area=area_id(t.county.routing.unit_area), src=("units", ["units", i]),
                                   description=f"leased line {unit.name_en}"))
            self.addr.request("p2p", lid)
        for tw in t.townships:
            self._plan_township(tw)

    def _plan_township(self, tw: Any) -> None:
        key = f"township:{tw.id}"
        area = area_id(tw.area)
        rt = f"{self.prefix}-{tw.id}-rt1"
        sw = f"{self.prefix}-{tw.id}-sw1"
        self.add_dev(rt, "township_router", tw.router_kit, key, tw.wave, (key, ["router_kit"]), township=tw.id)
        self.add_dev(sw, "township_switch", tw.switch_kit, key, tw.wave, (key, ["switch_kit"]), township=tw.id)
        for block in ("township_lan_block", "township_link_block", "village_block"):
            self.addr.request(block, tw.id)
        for d in (rt, sw):
            self.addr.request("loopback", d)
        self.addr.request("township_lan", f"{tw.id}:gov", parent=tw.id)
        self.addr.request("township_lan", f"{tw.id}:stations", parent=tw.id)
        lid = f"uplink:township:{tw.id}"
        self.link_add(LinkPlan(lid, End(tw.attach_to, None, "downlink"), End(rt, None, "wan"), "routed", "p2p",
                               area=area, src=(key, ["attach_to"]), description=f"leased line {tw.pinyin}"))
        self.addr.request("p2p", lid)
        lid = f"{rt}--{sw}"
        self.link_add(LinkPlan(lid, End(rt, None, "lan"), End(sw, None, "uplink"), "routed", "township_link",
                               tw.id, area=area, src=(key, ["switch_kit"])))
        self.addr.request("township_link", lid, parent=tw.id)
        for i, v in enumerate(tw.villages):
            name = f"{self.prefix}-{tw.id}-{v.id}"
            self.add_dev(name, "village_cpe", v.kit or tw.village_kit, key, tw.wave, (key, ["villages", i]),
                         township=tw.id)
            self.addr.request("loopback", name)
            self.addr.request("village_lan", f"{tw.id}/{v.id}", parent=tw.id)
            if v.attach == "leased":
                lid = f"uplink:village:{tw.id}/{v.id}"
                self.link_add(LinkPlan(lid, End(rt, None, "downlink"), End(name, None, "wan"), "routed",
                                       "township_link", tw.id, area=area, src=(key, ["villages", i]),
                                       description="leased line"))
                self.addr.request("township_link", lid, parent=tw.id)
            else:
                self.addr.request("broadband", f"{tw.id}/{v.id}")
                self.addr.request("tunnel", f"{tw.id}/{v.id}")

    # ------------------------------------------------------------------ 2. allocate
    def allocate(self) -> None:
        vl = self.t.county.vlans
        transit = list(range(vl.transit_first, vl.transit_last + 1))
        for lp in self.links:
            for side, end in (("a", lp.a), ("b", lp.b)):
                d = self.devs.get(end.device)
                if d is None:
                    continue
                owner = f"{lp.id}:{side}" if lp.a.device == lp.b.device else lp.id
                if end.port:
                    self.ports.pin(d.name, owner, end.port)
                    continue
                group = end.group or next(iter(d.hw.ports))
                choices = expand_ports(d.hw.ports.get(group, []))
                if not choices:
                    self.diag(lp.src, f"{d.name} ({d.hw_name}) has no port group {group!r}",
                              f"use one of {', '.join(d.hw.ports)}")
                    continue
                for m in range(lp.members):
                    self.ports.request(d.name, owner if lp.members == 1 else f"{owner}#{m + 1}", choices)
                if lp.type == "lag":
                    self.lags.request(d.name, lp.id, list(range(1, 65)))
                if lp.type == "routed" and d.hw.kind == "switch":
                    self.tvlans.request(d.name, lp.id, transit)
        self.ports.resolve()
        self.tvlans.resolve()
        self.lags.resolve()
        self.addr.resolve()
        for plan in (self.ports, self.tvlans, self.lags):
            for pr in plan.problems:
                self.diag(self.devs[pr.pool].src if pr.pool in self.devs else ("county", []), pr.message, pr.hint)
        for pr in self.addr.problems:
            src = pr.src or ("county", ["pools", pr.pool])
            self.col.add(self.t.diag(src[0], src[1], pr.message, pr.hint))

    # ------------------------------------------------------------------ 3. intent
    def a(self, pool: str, owner: str) -> str:
        return self.addr.result[pool][owner]

    def build(self) -> dict[str, I.DeviceIntent]:
        self.plan()
        self.col.raise_if_errors()
        self.allocate()
        self.col.raise_if_errors()
        self._wire_links()
        self._centre()
        self._units()
        for tw in self.t.townships:
            self._township(tw)
        self.col.raise_if_errors()
        return {name: self._finish(d) for name, d in sorted(self.devs.items())}

    def _wire_links(self) -> None:
        for lp in self.links:
            da, db = self.devs[lp.a.device], self.devs[lp.b.device]
            prefix = self.a(lp.pool, lp.id) if lp.pool else None
            for idx, (d, other, side) in enumerate(((da, db, "a"), (db, da, "b"))):
                owner = f"{lp.id}:{side}" if da is db else lp.id
                ports = self.ports.result.get(d.name, {})
                mine = self._port(d, owner) if lp.members == 1 else None
                theirs = self._port(other, f"{lp.id}:{'b' if side == 'a' else 'a'}" if da is db else lp.id) \
                    if lp.members == 1 else None
                desc = f"to {other.name}" + (f" {theirs}" if theirs else "") + \
                    (f" ({lp.description})" if lp.description else "")
                if lp.type == "routed":
                    addr = host(prefix, idx + 1) if prefix else None
                    ospf = I.OspfIf(area=lp.area or area_id(0), cost=lp.cost)
                    peer = I.Peer(host=other.name, interface=theirs or "?")
                    if d.hw.kind == "switch":
                        vid = int(self.tvlans.result[d.name][lp.id])
                        d.vlans[vid] = f"transit-{other.name}"
                        d.ifaces.append(I.Interface(name=mine or "?", kind="access", vlan=vid, description=desc,
                                                    peer=peer, link=lp.id))
                        d.ifaces.append(I.Interface(name=d.hw.vlan_if.format(n=vid), kind="svi", vlan=vid,
                                                    address=addr, description=desc, ospf=ospf, peer=peer,
                                                    link=lp.id))
                    else:
                        d.ifaces.append(I.Interface(name=mine or "?", kind="routed", address=addr,
                                                    description=desc, ospf=ospf, peer=peer, link=lp.id))
                    if lp.area and lp.area != area_id(0):
                        d.areas.setdefault(lp.area, I.OspfArea(id=lp.area))
                    else:
                        d.areas.setdefault(area_id(0), I.OspfArea(id=area_id(0)))
                elif lp.type in ("trunk", "access"):
                    if d.role == "server":
                        continue  # the server's side is its routed eth0, added with the server
                    for v in lp.vlans:
                        d.vlans.setdefault(v, self._vlan_name(v))
                    kind = "trunk" if lp.type == "trunk" else "access"
                    d.ifaces.append(I.Interface(name=mine or "?", kind=kind, description=desc,
                                                vlans=lp.vlans if kind == "trunk" else [],
                                                vlan=lp.vlans[0] if kind == "access" else None,
                                                peer=I.Peer(host=other.name, interface=theirs or "?"), link=lp.id))
                elif lp.type == "lag":
                    n = int(self.lags.result[d.name][lp.id])
                    lag = (d.hw.lag_name or d.hw.spec.interfaces.lag).format(n=n)
                    for v in lp.vlans:
                        d.vlans.setdefault(v, self._vlan_name(v))
                    d.ifaces.append(I.Interface(name=lag, kind="lag", lag_id=n, vlans=lp.vlans,
                                                description=f"to {other.name} (aggregate)", link=lp.id,
                                                peer=I.Peer(host=other.name, interface="aggregate")))
                    for m in range(1, lp.members + 1):
                        d.ifaces.append(I.Interface(
                            name=ports.get(f"{owner}#{m}", "?"), kind="lag_member", lag=lag, lag_id=n,
                            description=f"to {other.name} {self._port(other, lp.id, m)} ({lag} member)",
                            peer=I.Peer(host=other.name, interface=self._port(other, lp.id, m)), link=lp.id))

    def _port(self, dev: Dev, owner: str, member: int | None = None) -> str:
        key = owner if member is None else f"{owner}#{member}"
        return str(self.ports.result.get(dev.name, {}).get(key, "?"))

    def _vlan_name(self, vid: int) -> str:
        for z in self.t.centre.zones:
            if z.vlan == vid:
                return z.name
        return f"vlan{vid}"

    def _loopback(self, d: Dev) -> str | None:
        lo = self.addr.result.get("loopback", {}).get(d.name)
        if lo:
            d.ifaces.insert(0, I.Interface(name=d.hw.loopback_name or d.hw.spec.interfaces.loopback, kind="loopback", address=lo,
                                           description="router id and management", zone="device-mgmt",
                                           ospf=I.OspfIf(area=self._home_area(d), passive=True)))
        return lo

    def _home_area(self, d: Dev) -> str:
        if d.township:
            return area_id(next(tw.area for tw in self.t.townships if tw.id == d.township))
        if d.unit:
            return area_id(self.t.county.routing.unit_area)
        return area_id(0)

    def _centre(self) -> None:
        t = self.t
        zones = {z.name: self.a("centre_zone", z.name) for z in t.centre.zones}
        cores = [d for d in t.centre.devices if d.role == "core"]
        for rank, core in enumerate(cores):
            d = self.devs[core.name]
            for z in t.centre.zones:
                pfx = zones[z.name]
                d.vlans[z.vlan] = z.name
                d.ifaces.append(I.Interface(
                    name=d.hw.vlan_if.format(n=z.vlan), kind="svi", vlan=z.vlan, address=host(pfx, 2 + rank),
                    description=f"gateway of zone {z.name}", zone=z.security_zone,
                    vrrp=I.Vrrp(group=z.vlan % 255 or 1, vip=ip(host(pfx, 1)), priority=120 - 20 * rank),
                    ospf=I.OspfIf(area=area_id(0), passive=True, network_type="broadcast")))
        mgmt_pfx = zones["management"]
        for d in self.devs.values():
            if d.role == "access_switch":
                vid = self.zone_by_name["management"].vlan
                d.vlans.setdefault(vid, "management")
                addr = self.a("zone_host", d.name)
                d.ifaces.append(I.Interface(name=d.hw.vlan_if.format(n=vid), kind="svi", vlan=vid,
                                            address=f"{ip(addr)}/{mgmt_pfx.split('/')[1]}",
                                            description="management", zone="device-mgmt"))
                d.statics.append(I.StaticRoute(prefix="0.0.0.0/0", next_hop=ip(host(mgmt_pfx, 1)),
                                               description="default to the core VRRP gateway"))
        for s in t.centre.servers:
            d = self.devs[s.name]
            pfx = zones[s.zone]
            addr = f"{ip(self.a('zone_host', s.name))}/{pfx.split('/')[1]}"
            port = expand_ports(d.hw.ports["lan"])[0]
            sw_port = self.ports.result[s.switch][f"{s.name}--{s.switch}"]
            zone = self.zone_by_name[s.zone]
            d.ifaces.append(I.Interface(name=port, kind="routed", address=addr, zone=zone.security_zone,
                                        description=f"to {s.switch} {sw_port}",
                                        peer=I.Peer(host=s.switch, interface=str(sw_port)),
                                        link=f"{s.name}--{s.switch}"))
            d.statics.append(I.StaticRoute(prefix="0.0.0.0/0", next_hop=ip(host(pfx, 1)),
                                           description=f"default to the {s.zone} VRRP gateway"))
        for up in t.centre.uplinks:
            dev, _, group = up.device.partition(":")
            d = self.devs[dev]
            port = expand_ports(d.hw.ports.get(group or "wan", []) or ["?"])[0]
            zkind = "internet" if up.kind == "internet" else "city"
            d.ifaces.append(I.Interface(name=port, kind="routed", address=up.address, zone=self._zone_of_kind(zkind),
                                        description=f"to {up.name} {up.peer}", nat_outside=(d.role == "firewall"),
                                        link=f"uplink:{up.name}"))
            if up.kind == "internet":
                d.statics.append(I.StaticRoute(prefix="0.0.0.0/0", next_hop=up.peer,
                                               description=f"default to {up.name}"))

    def _zone_of_kind(self, kind: str) -> str:
        for name, z in self.t.policy.zones.items():
            if z.kind == kind:
                return name
        return kind

    def _dhcp_lan(self, d: Dev, iface: str, pfx: str, name: str) -> None:
        net = ipaddress.IPv4Network(pfx)
        reserve = min(10, net.num_addresses // 4)
        if self._dns is None:
            self._dns = [ip(self.a("zone_host", s.name)) for s in self.t.centre.servers if "dns" in s.services]
        dns = self._dns
        d.dhcp.append(I.DhcpPool(name=name, interface=iface, network=pfx, gateway=ip(host(pfx, 1)),
                                 range_start=ip(host(pfx, 1 + reserve)), range_end=ip(host(pfx, -2)),
                                 dns=dns))

    def _lan(self, d: Dev, pfx: str, vid: int, zone: str, label: str, area: str) -> None:
        """A LAN whose gateway is `d`: an SVI on layer-2 ports, or a routed port."""
        lan_ports = expand_ports(d.hw.ports.get("lan", d.hw.ports.get("access", [])))
        ospf = I.OspfIf(area=area, passive=True, network_type="broadcast")
        if d.hw.vlan_if:
            d.vlans[vid] = label
            name = d.hw.vlan_if.format(n=vid)
            d.ifaces.append(I.Interface(name=name, kind="svi", vlan=vid, address=host(pfx, 1), zone=zone,
                                        description=f"{label} LAN gateway", ospf=ospf))
            used = {i.name for i in d.ifaces}
            for p in lan_ports:
                if p not in used:
                    d.ifaces.append(I.Interface(name=p, kind="access", vlan=vid, description=f"{label} LAN"))
        else:
            if not lan_ports:
                self.diag(("catalog", ["hardware", d.hw_name, "ports"]),
                          f"model {d.hw_name} has no 'lan' or 'access' ports, but {d.name} is the gateway of a LAN",
                          "list the LAN ports under ports.lan, or give the model a vlan_if")
                return
            name = lan_ports[0]
            d.ifaces.append(I.Interface(name=name, kind="routed", address=host(pfx, 1), zone=zone,
                                        description=f"{label} LAN", ospf=ospf))
        self._dhcp_lan(d, name, pfx, label)

    def _units(self) -> None:
        vl = self.t.county.vlans
        area = area_id(self.t.county.routing.unit_area)
        for unit in self.t.units.units:
            d = self.devs[f"{self.prefix}-u-{unit.id}"]
            self._lan(d, self.a("unit_lan", unit.id), vl.unit_lan, self._zone_of_kind("unit-lan"),
                      f"unit-{unit.id}", area)
            d.areas.setdefault(area, I.OspfArea(id=area))

    def _township(self, tw: Any) -> None:
        vl = self.t.county.vlans
        area = area_id(tw.area)
        sw = self.devs[f"{self.prefix}-{tw.id}-sw1"]
        tz = self._zone_of_kind("township-lan")
        for label, vid in (("gov", vl.township_gov), ("stations", vl.township_stations)):
            pfx = self.a("township_lan", f"{tw.id}:{label}")
            sw.vlans[vid] = label
            name = sw.hw.vlan_if.format(n=vid)
            sw.ifaces.append(I.Interface(name=name, kind="svi", vlan=vid, address=host(pfx, 1), zone=tz,
                                         description=f"{tw.pinyin} {label} LAN gateway",
                                         ospf=I.OspfIf(area=area, passive=True, network_type="broadcast")))
            self._dhcp_lan(sw, name, pfx, f"{tw.id}-{label}")
        access = expand_ports(sw.hw.ports.get("access", []))
        half = (len(access) * 2) // 3
        for n, p in enumerate(access):
            vid = vl.township_gov if n < half else vl.township_stations
            sw.ifaces.append(I.Interface(name=p, kind="access", vlan=vid,
                                         description="government offices" if n < half else "stations (所/站)"))
        vz = self._zone_of_kind("village-lan")
        hub = next((d for d in self.t.centre.devices if d.role == "vpn_hub"), None)
        for v in tw.villages:
            d = self.devs[f"{self.prefix}-{tw.id}-{v.id}"]
            self._lan(d, self.a("village_lan", f"{tw.id}/{v.id}"), vl.village_lan, vz, f"{tw.id}-{v.id}", area)
            if v.attach == "vpn" and hub:
                self._vpn_village(tw, v, d, self.devs[hub.name])
            else:
                d.areas.setdefault(area, I.OspfArea(id=area))

    def _vpn_village(self, tw: Any, v: Any, d: Dev, hub: Dev) -> None:
        key = f"{tw.id}/{v.id}"
        bb = self.a("broadband", key)
        tun = self.a("tunnel", key)
        hub_up = next(u for u in self.t.centre.uplinks if u.device.partition(":")[0] == hub.name
                      and u.kind == "internet")
        wan = expand_ports(d.hw.ports["wan"])[0]
        d.ifaces.append(I.Interface(name=wan, kind="routed", address=host(bb, 2), zone=self._zone_of_kind("internet"),
                                    description="broadband (ISP)", link=f"broadband:{key}"))
        d.statics.append(I.StaticRoute(prefix="0.0.0.0/0", next_hop=ip(host(bb, 1)),
                                       description="default to the broadband ISP"))
        tname = d.hw.spec.interfaces.tunnel.format(n=1)
        vpn = self.t.county.vpn
        psk = f"{vpn.psk_secret_prefix}-{tw.id}-{v.id}"
        lan = self.a("village_lan", key)
        lo = self.addr.result.get("loopback", {}).get(d.name)
        local = [lan, lo] if lo else [lan]  # the loopback too: the village is managed through the tunnel
        county = [str(n) for n in self.county_aggregates()]
        hub_addr = ip(hub_up.address)
        d.ifaces.append(I.Interface(name=tname, kind="tunnel", address=host(tun, 2), zone=None,
                                    description=f"IPsec to {hub.name}",
                                    tunnel=I.Tunnel(source=wan, source_address=ip(host(bb, 2)),
                                                    destination=hub_addr, vpn_peer=hub.name)))
        for agg in county:
            d.statics.append(I.StaticRoute(prefix=agg, interface=tname, description="county network via IPsec"))
        d.vpn = I.Vpn(role="spoke", ike_version=vpn.ike_version, ike_proposal=vpn.ike_proposal,
                            esp_proposal=vpn.esp_proposal, peers=[I.VpnPeer(
                                name=hub.name, local_address=ip(host(bb, 2)), remote_address=hub_addr,
                                local_id=f"{d.name}.{self.t.county.county.domain}",
                                remote_id=f"{hub.name}.{self.t.county.county.domain}", psk_secret=psk,
                                tunnel_interface=tname, local_networks=local, remote_networks=county)])
        hub.vpn_peers.append(I.VpnPeer(name=d.name, local_address=hub_addr, remote_address=None,
                               local_id=f"{hub.name}.{self.t.county.county.domain}",
                               remote_id=f"{d.name}.{self.t.county.county.domain}", psk_secret=psk,
                               tunnel_interface=None, local_networks=county, remote_networks=local))
        for net in local:
            hub.statics.append(I.StaticRoute(prefix=net, next_hop=hub_up.peer,
                                             description=f"{d.name} via IPsec (policy-based)"))

    def county_aggregates(self) -> list[ipaddress.IPv4Network]:
        if self._aggs is None:
            nets = [ipaddress.IPv4Network(p.prefix) for n, p in self.p if p.prefix and n != "broadband"]
            self._aggs = list(ipaddress.collapse_addresses(nets))
            # one covering summary is what the city and the villages need
            if len(self._aggs) > 1:
                s = self._aggs[0]
                while not all(n.subnet_of(s) for n in self._aggs):
                    s = s.supernet()
                self._aggs = [s]
        return self._aggs

    # ------------------------------------------------------------------ finish
    def _finish(self, d: Dev) -> I.DeviceIntent:
        t = self.t
        lo = self._loopback(d)
        m = t.county.management
        mz = self.a("centre_zone", "management")
        srv = lambda names: [ip(self.a("zone_host", n)) for n in names]  # noqa: E731
        mgmt_if = next((i for i in d.ifaces if i.zone == "device-mgmt"), None)
        src_if = (mgmt_if.name if mgmt_if else (d.ifaces[0].name if d.ifaces else "eth0"))
        address = ip(lo) if lo else ip(mgmt_if.address) if mgmt_if and mgmt_if.address else \
            ip(next((i.address for i in d.ifaces if i.address), "0.0.0.0/32"))
        mgmt = I.Management(
            address=address, source_interface=src_if, allowed_sources=[mz],
            users=[I.User(name=u.name, role=u.role, privilege=d.hw.spec.privilege[u.role], secret=u.secret)
                   for u in m.users],
            ntp_servers=srv(m.ntp_servers), syslog_servers=srv(m.syslog_servers),
            snmp_managers=srv(m.snmp_managers),
            snmp_users=[I.SnmpUser(name=s.name, auth_secret=s.auth_secret, priv_secret=s.priv_secret)
                        for s in m.snmp_users],
            aaa_servers=srv(m.aaa_servers), banner=m.banner, timezone=m.timezone,
            login_attempts=m.login_attempts, lockout_minutes=m.lockout_minutes,
            idle_timeout_minutes=m.idle_timeout_minutes, domain=t.county.county.domain)
        routing = self._routing(d, lo)
        if routing.ospf is None:  # a device without OSPF (VPN village, server) carries no OSPF settings
            d.ifaces = [i.model_copy(update={"ospf": None}) if i.ospf else i for i in d.ifaces]
        vpn = d.vpn
        if d.role == "vpn_hub":
            v = t.county.vpn
            vpn = I.Vpn(role="hub", ike_version=v.ike_version, ike_proposal=v.ike_proposal,
                        esp_proposal=v.esp_proposal, peers=d.vpn_peers)
        server = None
        if d.role == "server":
            s = next(x for x in t.centre.servers if x.name == d.name)
            z = self.zone_by_name[s.zone]
            server = I.Server(function=s.function, zone=z.security_zone,
                              gateway=ip(host(self.a("centre_zone", s.zone), 1)),
                              services=[I.ServiceIntent(name=svc, protocol=proto, port_min=lo_, port_max=hi)
                                        for svc in s.services
                                        for proto, lo_, hi in map(parse_port, t.policy.services[svc].ports)])
        nat = self._nat(d) if d.role == "firewall" else None
        return I.DeviceIntent(
            hostname=d.name, fqdn=f"{d.name}.{t.county.county.domain}", role=d.role, platform=d.hw.spec.family,
            flavour=d.hw.flavour, os=d.hw.spec.os, vendor=d.hw.vendor, model=d.hw_name, site=d.site, site_name=self._site_name(d),
            township=d.township, unit=d.unit,
            wave=d.wave, loopback=lo, interfaces=d.ifaces,
            vlans=[I.Vlan(id=k, name=v) for k, v in sorted(d.vlans.items())], routing=routing, vpn=vpn,
            dhcp=d.dhcp, nat=nat, management=mgmt, server=server)

    def _site_name(self, d: Dev) -> str:
        if d.township:
            tw = next(x for x in self.t.townships if x.id == d.township)
            return f"{tw.name_zh} {tw.pinyin}"
        if d.unit:
            u = next(x for x in self.t.units.units if x.id == d.unit)
            return f"{u.name_zh} {u.name_en}"
        return f"{self.t.county.county.name_zh}信息中心 information centre"

    def _nat(self, d: Dev) -> I.Nat | None:
        out = next((i for i in d.ifaces if i.nat_outside), None)
        if out is None or out.address is None:
            return None
        pol = self.t.policy
        zones_to_internet = {z for r in pol.rules if any(pol.zones[x].kind == "internet" for x in r.destination)
                             for z in r.source}
        inside: list[str] = []
        for z in self.t.centre.zones:
            if z.security_zone in zones_to_internet:
                inside.append(self.a("centre_zone", z.name))
        kinds = {pol.zones[z].kind for z in zones_to_internet if z in pol.zones}
        if "unit-lan" in kinds:
            inside.append(self.p.unit_lan.prefix or "")
        if "township-lan" in kinds:
            inside.append(self.p.township_lan_block.prefix or "")
        statics = []
        outside_net = out.address
        idx = 3
        for r in pol.rules:
            if not any(pol.zones[x].kind == "internet" for x in r.source):
                continue
            for h in r.destination_hosts:
                for svc in r.services:
                    for spec in pol.services[svc].ports:
                        proto, lo, _hi = parse_port(spec)
                        if proto in ("tcp", "udp"):
                            statics.append((h, proto, lo))
        hosts = sorted({h for h, _, _ in statics})
        pub = {h: ip(host(outside_net, idx + n)) for n, h in enumerate(hosts)}
        return I.Nat(outside_interface=out.name, inside_networks=sorted(set(inside)),
                     static=[I.StaticNat(name=f"{h}-{proto}{port}", inside=ip(self.a("zone_host", h)),
                                         outside=pub[h], protocol=proto, port=port)
                             for h, proto, port in sorted(set(statics))])

    def _routing(self, d: Dev, lo: str | None) -> I.Routing:
        t = self.t
        r = t.county.routing
        if d.role in ("server", "access_switch"):
            return I.Routing(static=d.statics)
        ospf_ifs = [i for i in d.ifaces if i.ospf]
        areas = dict(d.areas)
        if d.role == "wan":
            for tw in t.townships:
                a = area_id(tw.area)
                if a in areas:
                    areas[a] = I.OspfArea(id=a, type=r.township_area_type,
                                          ranges=[self.a(b, tw.id) for b in
                                                  ("township_lan_block", "township_link_block", "village_block")])
            ua = area_id(r.unit_area)
            if ua in areas:
                areas[ua] = I.OspfArea(id=ua, type=r.township_area_type, ranges=[self.p.unit_lan.prefix or ""])
        else:
            for a in list(areas):
                if a != area_id(0):
                    areas[a] = I.OspfArea(id=a, type=r.township_area_type)
        if not ospf_ifs or (d.role == "village_cpe" and not areas):
            return I.Routing(static=d.statics)
        ospf = I.Ospf(process=r.ospf_process, router_id=ip(lo or "0.0.0.0"),
                      areas=sorted(areas.values(), key=lambda a: ipaddress.IPv4Address(a.id)),
                      hello=r.ospf_hello, dead=r.ospf_dead)
        bgp = None
        if d.role == "firewall":
            # the first firewall is the primary exit: NAT sessions and published services stay symmetric;
            # the second one takes over only when the first stops advertising its default
            firewalls = sorted(x.name for x in t.centre.devices if x.role == "firewall")
            ospf.default_originate = True
            ospf.default_metric = 1 if firewalls.index(d.name) == 0 else 100
        if d.role == "vpn_hub":
            ospf.redistribute = ["static"]
            ospf.redistribute_prefixes = [s.prefix for s in d.statics if s.prefix != "0.0.0.0/0"]
        if d.role == "city_edge":
            up = next(u for u in t.centre.uplinks if u.kind == "city" and u.device.partition(":")[0] == d.name)
            aggs = [str(n) for n in self.county_aggregates()]
            bgp = I.Bgp(asn=r.asn, router_id=ip(lo or "0.0.0.0"), networks=aggs, neighbors=[I.BgpNeighbor(
                address=up.peer, remote_as=up.peer_asn or 0, description=up.name,
                import_prefixes=list(up.receive), export_prefixes=aggs)])
            for agg in aggs:
                d.statics.append(I.StaticRoute(prefix=agg, interface="null", description="aggregate for BGP"))
            ospf.redistribute = ["bgp"]
            ospf.redistribute_prefixes = list(up.receive)
        return I.Routing(ospf=ospf, static=d.statics, bgp=bgp)


def build_intent(topo: Topology, lock: dict[str, Any]
                 ) -> tuple[dict[str, I.DeviceIntent], dict[str, Any], list[ipaddress.IPv4Network]]:
    """Return every device's intent, the new lock contents and the county's internal aggregates."""
    b = Builder(topo, lock)
    intents = b.build()
    new_lock = {"version": 1, "addresses": b.addr.result, "ports": b.ports.result, "vlans": b.tvlans.result,
                "lags": b.lags.result}
    return intents, new_lock, b.county_aggregates()

