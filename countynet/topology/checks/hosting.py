"""The hosting machine room: racks, their switches and ports, hosted servers' names, services, zones and pools.

Placement itself (which rack, U and port each server takes, and whether a rack is full) is an allocation and
is checked where it is made, against the lock (:mod:`countynet.ipam.placement`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING

from countynet.errors import Diagnostic
from countynet.suggest import hint_choices
from countynet.topology.hosting import hosted
from countynet.topology.ranges import expand_ports

if TYPE_CHECKING:
    from countynet.topology.validated import Topology


def check(t: Topology) -> Iterator[Diagnostic]:
    """Racks and hosted servers are consistent: see the module text."""
    yield from _racks(t)
    yield from _servers(t)


def _racks(t: Topology) -> Iterator[Diagnostic]:
    h = t.centre.hosting
    if h is None:
        return
    devices = {d.name: d for d in t.centre.devices}
    names: set[str] = set()
    used_ports: dict[tuple[str, str], str] = {}
    transit = range(t.county.vlans.transit_first, t.county.vlans.transit_last + 1)
    zone_vlans = {z.vlan: z.name for z in t.centre.zones}
    for vid in range(h.vlan_first, h.vlan_last + 1):
        if vid in transit or vid in zone_vlans:
            what = f"centre zone {zone_vlans[vid]}" if vid in zone_vlans else "the transit VLAN range"
            yield t.diag("centre", ["hosting", "vlan_first"], f"hosting VLAN range {h.vlan_first}-{h.vlan_last} "
                         f"includes VLAN {vid} of {what}", "move the hosting VLAN range clear of it")
            break
    for i, r in enumerate(h.racks):
        path = ["hosting", "racks", i]
        if r.name in names:
            yield t.diag("centre", [*path, "name"], f"duplicate rack {r.name!r}", "give each rack its own name")
        names.add(r.name)
        sw = devices.get(r.switch)
        if r.plane == "intranet":
            if sw is not None:
                yield t.diag("centre", [*path, "switch"], f"intranet rack {r.name} names {r.switch!r}, a device of "
                             "the extranet: the 政务内网 must be physically separate (中办发〔2002〕17号)",
                             "give the rack its own intranet switch, which is not a centre device")
            continue
        if sw is None or sw.role != "access_switch":
            yield t.diag("centre", [*path, "switch"], f"{r.switch!r} is not a centre access switch",
                         hint_choices(r.switch, [d for d, v in devices.items() if v.role == "access_switch"]))
            continue
        cores = {d.name for d in t.centre.devices if d.role == "core"}
        trunked = any(link.type != "routed" and {link.a.partition(":")[0], link.b.partition(":")[0]} & cores
                      and r.switch in (link.a.partition(":")[0], link.b.partition(":")[0]) for link in t.centre.links)
        if not trunked:
            yield t.diag("centre", [*path, "switch"], f"{r.switch} has no trunk to a core switch: the hosting "
                         "segments of its servers would not reach their gateway",
                         f"add a trunk link from {r.switch}:uplink to each core (centre.yaml links)")
        hw = t.catalog.hardware.get(t.catalog.kits[sw.kit].hardware) if sw.kit in t.catalog.kits else None
        offered = {p for ports in (hw.ports.values() if hw else []) for p in expand_ports(ports)}
        for j, spec in enumerate(r.ports):
            try:
                ports = expand_ports([spec])
            except ValueError as exc:
                yield t.diag("centre", [*path, "ports", j], str(exc), "write a port or a range such as "
                             "GigabitEthernet1/0/{1..20}")
                continue
            for port in ports:
                if hw and port not in offered:
                    yield t.diag("centre", [*path, "ports", j], f"{r.switch} has no port {port}",
                                 "list ports of the switch's model (catalog.yaml)")
                    break
                if (r.switch, port) in used_ports:
                    yield t.diag("centre", [*path, "ports", j], f"{r.switch} {port} is also rack "
                                 f"{used_ports[(r.switch, port)]}'s", "give each rack its own ports")
                    break
                used_ports[(r.switch, port)] = r.name


def _servers(t: Topology) -> Iterator[Diagnostic]:
    servers = list(hosted(t.units.units))
    if not servers:
        return
    h = t.centre.hosting
    p = t.policy
    pools = t.county.pools
    taken = {d.name for d in t.centre.devices} | {s.name for s in t.centre.servers}
    seen: set[str] = set()
    racks = {r.name: r for r in (h.racks if h else [])}
    for x in servers:
        s, path = x.server, x.path
        if h is None:
            yield t.diag("units", path, f"{x.unit.id} hosts {s.name}, but centre.yaml declares no machine room",
                         "add `hosting:` (vlan_first, vlan_last, racks) to centre.yaml")
            return
        if s.name in taken or s.name in seen:
            yield t.diag("units", [*path, "name"], f"name {s.name!r} is already used",
                         "give every device and server a unique name")
        seen.add(s.name)
        if s.kit not in t.catalog.kits:
            yield t.diag("units", [*path, "kit"], f"unknown kit {s.kit!r}", hint_choices(s.kit, t.catalog.kits))
        for j, svc in enumerate(s.services):
            if svc not in p.services:
                yield t.diag("units", [*path, "services", j], f"unknown service {svc!r}",
                             hint_choices(svc, p.services))
        for j, z in enumerate(s.reach_from):
            if z not in p.zones:
                yield t.diag("units", [*path, "reach_from", j], f"unknown zone {z!r}", hint_choices(z, p.zones))
            elif p.zones[z].kind == "internet":
                yield t.diag("units", [*path, "reach_from", j], "the internet reaches a hosted server only "
                             "through `publish`", "list the published services under publish instead")
        if s.rack is not None:
            rack = racks.get(s.rack)
            if rack is None:
                yield t.diag("units", [*path, "rack"], f"unknown rack {s.rack!r}", hint_choices(s.rack, racks))
            elif rack.plane != s.plane:
                yield t.diag("units", [*path, "rack"], f"rack {s.rack} is an {rack.plane} rack; {s.name} is an "
                             f"{s.plane} server", f"pin an {s.plane} rack, or remove the pin")
        if not any(r.plane == s.plane for r in racks.values()):
            yield t.diag("units", [*path, "plane"], f"no {s.plane} rack in centre.yaml hosting.racks",
                         f"add a rack with plane: {s.plane}")
        pool_names = ("hosting", "hosting_host") if s.plane == "extranet" else ("intranet_hosting", "intranet_host")
        missing = [n for n in pool_names if getattr(pools, n) is None]
        if missing:
            yield t.diag("units", [*path, "plane"], f"{s.plane} servers need the pools {', '.join(missing)}",
                         f"add pools.{missing[0]} to county.yaml (docs/hosting.md)")
    yield from _pool_planes(t)
    yield from _public_addresses(t)


FIRST_PUBLIC = 3  # the NAT feature's first published address in an ISP hand-off (.1 provider, .2 firewall)


def _public_addresses(t: Topology) -> Iterator[Diagnostic]:
    """Every published server takes one public address of each internet firewall's hand-off (static NAT): a
    published hosted server beyond what a hand-off holds is refused at its `publish` line."""
    internet = {n for n, z in t.policy.zones.items() if z.kind == "internet"}
    published = sorted({h for r in t.policy.rules if r.action == "allow" and internet & set(r.source)
                        for h in r.destination_hosts})
    roles = {d.name: d.role for d in t.centre.devices}
    mine = {x.server.name: x for x in hosted(t.units.units, "extranet") if x.server.publish}
    for up in t.centre.uplinks:
        if up.kind != "internet" or roles.get(up.device.partition(":")[0]) != "firewall":
            continue
        net = ipaddress.IPv4Interface(up.address).network
        room = max(net.num_addresses - FIRST_PUBLIC - 1, 0)
        if len(published) <= room:
            continue
        for name in published:
            if name in mine:
                yield t.diag("units", [*mine[name].path, "publish"], f"{name} needs a public address, but the "
                             f"{up.name} hand-off {net} holds {room} published servers and {len(published)} are "
                             f"published ({', '.join(published)})", "ask the ISP for a larger block (centre.yaml "
                             "uplinks), or publish the site through a DMZ server instead")


def _pool_planes(t: Topology) -> Iterator[Diagnostic]:
    """The intranet pool lies outside every extranet pool (it is another network) and the city's prefixes."""
    pools = t.county.pools
    intra = pools.intranet_hosting
    if intra is None or intra.prefix is None:
        return
    net = ipaddress.IPv4Network(intra.prefix)
    for name, pool in pools:
        if name.startswith("intranet") or pool.prefix is None:
            continue
        if net.overlaps(ipaddress.IPv4Network(pool.prefix)):
            yield t.diag("county", ["pools", "intranet_hosting"], f"intranet pool {net} overlaps pool {name}",
                         "give the intranet (政务内网) its own range outside the extranet's")
