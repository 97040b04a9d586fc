"""Pinned addresses: every pin lies inside its pool, past the pool's reserved start; a server's pin lies inside
its zone's pinned prefix and is neither its network, broadcast nor a reserved address. Each problem names the
pin's line and the pool's (or zone's) line."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from countynet.errors import Diagnostic

if TYPE_CHECKING:
    from countynet.topology.models import Pool
    from countynet.topology.validated import Topology


def _pins(t: Topology) -> Iterator[tuple[str, str, str, list[Any]]]:
    """(pool name, pin, source key, path) for every pin of a top-level pool."""
    c = t.centre
    for i, d in enumerate(c.devices):
        if d.loopback:
            yield "loopback", d.loopback, "centre", ["devices", i, "loopback"]
    for i, z in enumerate(c.zones):
        if z.prefix:
            yield "centre_zone", z.prefix, "centre", ["zones", i, "prefix"]
    for i, link in enumerate(c.links):
        if link.prefix and link.type == "routed":
            yield "p2p", link.prefix, "centre", ["links", i, "prefix"]
    for i, u in enumerate(t.units.units):
        if u.lan_prefix:
            yield "unit_lan", u.lan_prefix, "units", ["units", i, "lan_prefix"]


def check(t: Topology) -> Iterator[Diagnostic]:
    """Pins inside their pools; server pins inside their pinned zones, on host addresses."""
    pools: dict[str, Pool] = dict(t.county.pools)
    for pname, pin, key, path in _pins(t):
        pool = pools[pname]
        if pool.prefix is None:
            continue
        net, space = ipaddress.IPv4Network(pin, strict=False), ipaddress.IPv4Network(pool.prefix)
        pline = t.where("county", ["pools", pname])[1].line
        where = f"pool {pname} {pool.prefix} (county.yaml:{pline})"
        if not net.subnet_of(space):
            yield t.diag(key, path, f"pinned {pin} lies outside {where}",
                         f"pin an address inside {pool.prefix}, or remove the pin to allocate one")
        elif int(net.network_address) < int(space.network_address) + pool.reserve_first:
            yield t.diag(key, path, f"pinned {pin} lies in the first {pool.reserve_first} reserved addresses "
                         f"of {where}", "pin an address past the reserved start")
    zones = {z.name: (i, z) for i, z in enumerate(t.centre.zones)}
    host_pool = pools.get("zone_host")
    reserve = host_pool.reserve_first if host_pool else 0
    for i, s in enumerate(t.centre.servers):
        if not s.address or s.zone not in zones or zones[s.zone][1].prefix is None:
            continue
        zi, zone = zones[s.zone]
        ip, net = ipaddress.IPv4Interface(s.address).ip, ipaddress.IPv4Network(str(zone.prefix))
        zline = t.where("centre", ["zones", zi, "prefix"])[1].line
        path = ["servers", i, "address"]
        if ip not in net:
            yield t.diag("centre", path, f"pinned {ip} lies outside zone {zone.name} {net} (centre.yaml:{zline})",
                         f"pin an address inside {net}, or remove the pin")
        elif ip in (net.network_address, net.broadcast_address):
            yield t.diag("centre", path, f"pinned {ip} is the network or broadcast address of zone {zone.name}",
                         "pin a host address")
        elif int(ip) < int(net.network_address) + reserve:
            yield t.diag("centre", path, f"pinned {ip} lies in the first {reserve} reserved addresses of zone "
                         f"{zone.name} {net} (county.yaml pools.zone_host)", "pin an address past the reserved start")
