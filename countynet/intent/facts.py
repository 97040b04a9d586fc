"""County facts: what every feature function may read, computed once from the topology, the plan and the
allocation, and frozen.

A feature function never looks anything up twice and never writes here: the VPN hub learns its villages
from :attr:`Facts.vpn_villages`, not from the villages' feature functions; NAT reads the policy through
:attr:`Facts.exposure`, the same active rules the policy compiler reads.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from countynet.intent.plan import BACKBONE, Allocation, DevicePlan, LinkPlan, Plan, area_id
from countynet.intent.policy.rules import Exposure, active_rules, internet_exposure
from countynet.ipam.addr import ip
from countynet.topology.models import Server, TownshipFile, Unit, Uplink, Zone
from countynet.topology.validated import Topology


@dataclass(frozen=True)
class VpnVillage:
    """A village on broadband with an IPsec tunnel to the hub: what both ends need to agree on."""

    device: str
    key: str                 # "<township>/<village>"
    broadband: str           # its modelled ISP access prefix
    tunnel: str              # tunnel interface prefix
    local_networks: tuple[str, ...]  # village LAN, and the loopback (managed through the tunnel)
    psk_secret: str


@dataclass(frozen=True)
class Facts:
    topo: Topology
    devices: Mapping[str, DevicePlan]
    links: tuple[LinkPlan, ...]
    alloc: Allocation
    ends: Mapping[str, tuple[tuple[LinkPlan, str], ...]]  # device -> (link, side) in link order
    zones: Mapping[str, Zone]                              # centre zones by name
    kind_zone: Mapping[str, str]                           # policy zone kind -> the first zone of that kind
    vlan_names: Mapping[int, str]                          # centre zone VLAN -> zone name
    uplinks: Mapping[str, tuple[Uplink, ...]]              # device -> its external hand-offs
    townships: Mapping[str, TownshipFile]
    units: Mapping[str, Unit]
    cores: tuple[str, ...]                                 # in VRRP rank order
    firewalls: tuple[str, ...]                             # sorted: the first is the primary internet exit
    dns: tuple[str, ...]                                   # DNS servers handed out by DHCP
    aggregates: tuple[ipaddress.IPv4Network, ...]          # the county's own summary
    hub: str | None
    hub_uplink: Uplink | None                              # the hub's internet uplink (villages dial it)
    vpn_villages: tuple[VpnVillage, ...]                   # in township and village order
    vpn_village: Mapping[str, VpnVillage]                  # by village device
    servers: Mapping[str, Server]                          # centre servers by name
    exposure: Exposure                                     # what the policy opens to and from the internet

    def address(self, pool: str, owner: str) -> str:
        return self.alloc.addresses[pool][owner]

    def loopback(self, device: str) -> str | None:
        return self.alloc.addresses.get("loopback", {}).get(device)

    def port(self, device: str, owner: str, member: int | None = None) -> str:
        key = owner if member is None else f"{owner}#{member}"
        return str(self.alloc.ports.get(device, {}).get(key, "?"))

    def zone_of_kind(self, kind: str) -> str:
        return self.kind_zone.get(kind, kind)

    def vlan_name(self, vid: int) -> str:
        return self.vlan_names.get(vid, f"vlan{vid}")

    def home_area(self, d: DevicePlan) -> str:
        """The OSPF area of the device's site (its loopback's area)."""
        if d.township:
            return area_id(self.townships[d.township].area)
        if d.unit:
            return area_id(self.topo.county.routing.unit_area)
        return BACKBONE

    @property
    def domain(self) -> str:
        return self.topo.county.county.domain


def county_aggregates(t: Topology) -> tuple[ipaddress.IPv4Network, ...]:
    """One covering summary of the county's pools (broadband and the intranet's excepted): what the city and
    villages route."""
    nets = [ipaddress.IPv4Network(p.prefix) for n, p in t.county.pools
            if p and p.prefix and n != "broadband" and not n.startswith("intranet")]  # intranet: another network
    aggs = list(ipaddress.collapse_addresses(nets))
    if len(aggs) > 1:
        s = aggs[0]
        while not all(n.subnet_of(s) for n in aggs):
            s = s.supernet()
        aggs = [s]
    return tuple(aggs)


def county_facts(t: Topology, p: Plan, alloc: Allocation) -> Facts:
    """Everything the feature functions read, computed once (from the plan's topology: hosted servers in its
    centre, docs/hosting.md)."""
    t = p.topo or t
    ends: dict[str, list[tuple[LinkPlan, str]]] = {}
    for lp in p.links:
        for side, end in (("a", lp.a), ("b", lp.b)):
            ends.setdefault(end.device, []).append((lp, side))
    kind_zone: dict[str, str] = {}
    for name, sz in t.policy.zones.items():
        kind_zone.setdefault(sz.kind, name)
    vlan_names: dict[int, str] = {}
    for z in t.centre.zones:
        vlan_names.setdefault(z.vlan, z.name)
    uplinks: dict[str, list[Uplink]] = {}
    for up in t.centre.uplinks:
        uplinks.setdefault(up.device.partition(":")[0], []).append(up)
    addresses = alloc.addresses
    hub = next((d.name for d in t.centre.devices if d.role == "vpn_hub"), None)
    hub_up = next((u for u in uplinks.get(hub or "", []) if u.kind == "internet"), None)
    prefix, vpn = t.county.county.prefix, t.county.vpn
    villages = []
    for tw in t.townships:
        for v in tw.villages:
            if v.attach != "vpn" or hub is None:
                continue
            key, name = f"{tw.id}/{v.id}", f"{prefix}-{tw.id}-{v.id}"
            lo = addresses.get("loopback", {}).get(name)
            lan = addresses["village_lan"][key]
            villages.append(VpnVillage(name, key, addresses["broadband"][key], addresses["tunnel"][key],
                                       (lan, lo) if lo else (lan,), f"{vpn.psk_secret_prefix}-{tw.id}-{v.id}"))
    return Facts(
        topo=t, devices=MappingProxyType(dict(p.devices)), links=p.links, alloc=alloc,
        ends=MappingProxyType({k: tuple(v) for k, v in ends.items()}),
        zones=MappingProxyType({z.name: z for z in t.centre.zones}), kind_zone=MappingProxyType(kind_zone),
        vlan_names=MappingProxyType(vlan_names), uplinks=MappingProxyType({k: tuple(v) for k, v in uplinks.items()}),
        townships=MappingProxyType({tw.id: tw for tw in t.townships}),
        units=MappingProxyType({u.id: u for u in t.units.units}),
        cores=tuple(d.name for d in t.centre.devices if d.role == "core"),
        firewalls=tuple(sorted(d.name for d in t.centre.devices if d.role == "firewall")),
        dns=tuple(ip(addresses["zone_host"][s.name]) for s in t.centre.servers if "dns" in s.services),
        aggregates=county_aggregates(t), hub=hub, hub_uplink=hub_up,
        vpn_villages=tuple(villages), vpn_village=MappingProxyType({v.device: v for v in villages}),
        servers=MappingProxyType({s.name: s for s in t.centre.servers}),
        exposure=internet_exposure(t.policy, active_rules(t.policy)))
