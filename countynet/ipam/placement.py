"""Placement of hosted servers in the machine room: rack, U, switch ports, segment, address and VLAN.

The same discipline as every other allocation (:mod:`countynet.ipam.allocator`), remembered in the lock file's
`placement` section:

* a server found in the lock keeps its rack, U and ports while they still fit (same plane, the rack's space,
  power and port list, its size unchanged, its rack pin if any), so adding or removing a server never moves
  another one;
* a new server takes, in name order, the first rack of its plane (declared order, or its pinned rack) with
  enough contiguous free U (the lowest), power and free ports;
* a server that fits nowhere is refused at its own `units.yaml` line, naming what each rack has left.

Segments (one per unit and plane) and host addresses come from the hosting pools through
:class:`~countynet.ipam.allocator.AddressPlan`, freed ones held before reuse like every pool's
(:mod:`countynet.ipam.hold`, the section's `freed`); each unit's extranet segment VLAN from the hosting VLAN range
through :class:`~countynet.ipam.allocator.SlotPlan`. Written here because no rack-planning library we know keeps
placements stable against a lock (NetBox's rack model needs a server and does not allocate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from countynet.errors import Collector
from countynet.ipam import hold
from countynet.ipam.allocator import AddressPlan, SlotPlan
from countynet.topology.hosting import Hosted, extranet_units, hosted
from countynet.topology.models import Rack
from countynet.topology.ranges import expand_ports
from countynet.topology.validated import Topology

POOLS = {"extranet": ("hosting", "hosting_host"), "intranet": ("intranet_hosting", "intranet_host")}


@dataclass(frozen=True)
class Placed:
    """Where one hosted server sits."""

    name: str
    unit: str
    plane: str
    rack: str
    u: int                   # lowest rack unit it takes
    height: int              # in U
    watts: int
    switch: str
    ports: tuple[str, ...]   # the first carries its address
    segment: str             # its unit's segment of its plane
    address: str             # a.b.c.d/32
    vlan: int | None         # extranet segment VLAN (intranet: the intranet's own, not ours)


@dataclass(frozen=True)
class Placement:
    """Every hosted server's place, each unit's segments and VLANs: the lock's `placement` section."""

    servers: Mapping[str, Placed]
    segments: Mapping[str, Mapping[str, str]]   # plane -> unit -> prefix
    vlans: Mapping[str, int]                    # unit -> extranet segment VLAN
    addresses: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # pool -> owner -> prefix
    freed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # pool -> prefix -> hold (ipam.hold)

    def lock(self) -> dict[str, Any]:
        """The lock file's `placement` section."""
        out = {"addresses": {k: dict(v) for k, v in self.addresses.items()}, "vlans": dict(self.vlans),
               "servers": {n: {"rack": p.rack, "u": p.u, "ports": list(p.ports)}
                           for n, p in sorted(self.servers.items())}}
        if self.freed:
            out["freed"] = {k: dict(v) for k, v in self.freed.items()}
        return out


@dataclass
class _Rack:
    rack: Rack
    ports: list[str]
    used_u: set[int] = field(default_factory=set)
    used_ports: set[str] = field(default_factory=set)
    watts: int = 0

    def free_u(self) -> int:
        return self.rack.units - self.rack.first_u + 1 - len(self.used_u)

    def fits_at(self, u: int, height: int) -> bool:
        return u >= self.rack.first_u and u + height - 1 <= self.rack.units and \
            not any(x in self.used_u for x in range(u, u + height))

    def lowest(self, height: int) -> int | None:
        return next((u for u in range(self.rack.first_u, self.rack.units - height + 2) if self.fits_at(u, height)),
                    None)

    def take(self, u: int, height: int, watts: int, ports: list[str]) -> None:
        self.used_u.update(range(u, u + height))
        self.watts += watts
        self.used_ports.update(ports)

    def left(self) -> str:
        return (f"{self.rack.name}: {self.free_u()} U, {self.rack.power_watts - self.watts} W, "
                f"{len(self.ports) - len(self.used_ports)} ports free")


def place(t: Topology, lock: Mapping[str, Any] | None) -> Placement:
    """Place every hosted server stably against the lock's `placement` section; TopologyError (every problem,
    each at the line that asked) when a server fits in no rack or a pool or the VLAN range is exhausted."""
    lock = lock or {}
    col = Collector("build")
    servers = list(hosted(t.units.units))
    h = t.centre.hosting
    if not servers or h is None:
        return Placement({}, {}, {})
    racks = [_Rack(r, expand_ports(r.ports)) for r in h.racks]
    by_name = {r.rack.name: r for r in racks}
    old: Mapping[str, Any] = lock.get("servers") or {}
    spots: dict[str, tuple[_Rack, int, list[str]]] = {}
    fresh: list[Hosted] = []
    for x in sorted(servers, key=lambda x: x.server.name):  # phase A: locked places that still fit
        s, was = x.server, old.get(x.server.name)
        r = by_name.get(str(was.get("rack"))) if isinstance(was, Mapping) else None
        if r is None or not isinstance(was, Mapping) or r.rack.plane != s.plane or \
                (s.rack is not None and s.rack != r.rack.name):
            fresh.append(x)
            continue
        u, ports = was.get("u"), [str(p) for p in was.get("ports") or []]
        if isinstance(u, int) and r.fits_at(u, s.size.u) and len(ports) == s.size.ports and \
                all(p in r.ports and p not in r.used_ports for p in ports) and \
                r.watts + s.size.watts <= r.rack.power_watts:
            r.take(u, s.size.u, s.size.watts, ports)
            spots[s.name] = (r, u, ports)
        else:
            fresh.append(x)
    for x in fresh:  # phase B: new (or no longer fitting) servers, in name order, first rack with room
        s = x.server
        candidates = [r for r in racks if r.rack.plane == s.plane and s.rack in (None, r.rack.name)]
        for r in candidates:
            u = r.lowest(s.size.u)
            free = [p for p in r.ports if p not in r.used_ports]
            if u is not None and r.watts + s.size.watts <= r.rack.power_watts and len(free) >= s.size.ports:
                ports = free[:s.size.ports]
                r.take(u, s.size.u, s.size.watts, ports)
                spots[s.name] = (r, u, ports)
                break
        else:
            left = "; ".join(r.left() for r in candidates) or f"no {s.plane} rack"
            col.add(t.diag("units", x.path, f"no {s.plane} rack has room for {s.name} ({s.size.u} U, "
                           f"{s.size.watts} W, {s.size.ports} port(s)): {left}",
                           "add a rack (centre.yaml hosting.racks), raise a rack's power budget or ports, or make "
                           "the server smaller"))
    on = hold.today()
    addr = AddressPlan(t.county.pools, lock.get("addresses"), held=hold.active(lock.get("freed"), on))
    for plane, (seg_pool, host_pool) in POOLS.items():
        units = {x.unit.id for x in servers if x.server.plane == plane}
        for unit in sorted(units):
            addr.request(seg_pool, unit)
        for x in servers:
            if x.server.plane == plane:
                addr.request(host_pool, x.server.name, parent=x.unit.id, pin=x.server.address,
                             src=("units", [*x.path, "address"]))
    addresses = addr.resolve()
    for pr in addr.problems:
        where = pr.src or ("county", ["pools", pr.pool])
        col.add(t.diag(where[0], where[1], pr.message, pr.hint))
    vlans = SlotPlan({"hosting": dict(lock.get("vlans") or {})})
    for u in extranet_units(t.units.units):
        vlans.request("hosting", u.id, list(range(h.vlan_first, h.vlan_last + 1)))
    got = vlans.resolve().get("hosting", {})
    for pr in vlans.problems:
        col.add(t.diag("centre", ["hosting", "vlan_last"], f"the hosting VLAN range is exhausted: {pr.message}",
                       "widen hosting.vlan_first..vlan_last"))
    col.raise_if_errors()
    placed = {}
    segments: dict[str, dict[str, str]] = {}
    for x in servers:
        s = x.server
        r, u, ports = spots[s.name]
        seg_pool, host_pool = POOLS[s.plane]
        segment = addresses[seg_pool][x.unit.id]
        segments.setdefault(s.plane, {})[x.unit.id] = segment
        vid = got.get(x.unit.id) if s.plane == "extranet" else None
        placed[s.name] = Placed(s.name, x.unit.id, s.plane, r.rack.name, u, s.size.u, s.size.watts, r.rack.switch,
                                tuple(ports), segment, addresses[host_pool][s.name],
                                int(vid) if vid is not None else None)
    freed = hold.update(lock.get("addresses"), addresses, lock.get("freed"), on)
    return Placement(placed, segments, {k: int(v) for k, v in got.items()}, addresses, freed)
