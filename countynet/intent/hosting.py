"""Hosted servers in the build: each unit's extranet hosting segment becomes a centre zone, its servers
centre servers, before the plan (docs/hosting.md).

So the features that make every centre zone and server (core SVIs with VRRP, server ports, the policy's filters
on the gateways, NAT of published services) make the hosted ones too: nothing is written twice. What is
particular to hosting is decided here:

* the segment's prefix and VLAN and each server's address, rack, U and port come from the placement
  (:mod:`countynet.ipam.placement`, stable through the lock), and enter the centre model as pins;
* the segment's VLAN is carried on the trunks of the switches its servers are cabled to and on the trunks
  between the cores (the VRRP pair needs it on both);
* intranet (政务内网) servers are placed and documented, but never enter the extranet: no zone, no port, no route.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from countynet.ipam.placement import Placement, place
from countynet.topology.hosting import extranet_units, host_zone, hosted
from countynet.topology.models import Server, Zone
from countynet.topology.validated import Topology


def expand(t: Topology, lock: Mapping[str, Any]) -> tuple[Topology, Placement]:
    """The topology with every extranet hosted server and segment in its centre, and the placement; `t` itself
    is unchanged. TopologyError when a server fits no rack (placement)."""
    pl = place(t, lock.get("placement"))
    if not pl.servers:
        return t, pl
    c = t.centre
    units = {u.id: u for u in extranet_units(t.units.units)}
    zones = list(c.zones)
    for uid, u in units.items():
        name = host_zone(uid)
        zones.append(Zone(name=name, vlan=pl.vlans[uid], prefix=pl.segments["extranet"][uid], security_zone=name,
                          description=f"hosting segment of {u.name_en} (托管)"))
    servers = list(c.servers)
    ports: dict[str, str] = {}
    src: dict[str, tuple[str, tuple[Any, ...]]] = {}
    per_switch: dict[str, list[str]] = {}
    for x in hosted(t.units.units, "extranet"):
        p = pl.servers[x.server.name]
        s = x.server
        servers.append(Server(name=s.name, zone=host_zone(x.unit.id), function=s.function, services=s.services,
                              switch=p.switch, address=p.address, kit=s.kit))
        ports[s.name] = p.ports[0]
        src[s.name] = ("units", tuple(x.path))
        zs = per_switch.setdefault(p.switch, [])
        if host_zone(x.unit.id) not in zs:
            zs.append(host_zone(x.unit.id))
    roles = {d.name: d.role for d in c.devices}
    every = [host_zone(u) for u in units]
    links = []
    for link in c.links:
        ends = [e.partition(":")[0] for e in (link.a, link.b)]
        add: list[str] = []
        if link.type != "routed":
            if all(roles.get(e) == "core" for e in ends):
                add = every
            else:
                add = [z for e in ends for z in per_switch.get(e, [])]
        links.append(link.model_copy(update={"vlans": [*link.vlans, *[z for z in add if z not in link.vlans]]})
                     if add else link)
    centre = c.model_copy(update={"zones": zones, "servers": servers, "links": links})
    return dataclasses.replace(t, centre=centre, placed_ports=ports, placed_src=src), pl
