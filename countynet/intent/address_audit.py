"""A build-wide address audit over every device's intent (issue 10: addresses).

The allocator promises that no two owners share a block; this audit checks the result as deployed, across
all devices at once, so that a pin, a lock edit or an allocator bug cannot put two interfaces on one address,
an interface on its subnet's network or broadcast address, an interface on another group's VRRP virtual
address, or a DHCP pool over a statically used address. It reads only the intents (what `build` writes).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from countynet.errors import Diagnostic
from countynet.intent.models import DeviceIntent

_FILE = "build"  # the audit sees the intents, not the topology: the location is the device and interface


def _diag(where: str, message: str, hint: str) -> Diagnostic:
    return Diagnostic(_FILE, 0, 0, where, message, hint)


def audit_addresses(intents: dict[str, DeviceIntent]) -> list[Diagnostic]:
    """Every address problem of the whole build, sorted; empty when the build's addressing is sound."""
    out: list[Diagnostic] = []
    owners: dict[ipaddress.IPv4Address, list[str]] = defaultdict(list)
    vips: dict[ipaddress.IPv4Address, set[str]] = defaultdict(set)
    statics: dict[ipaddress.IPv4Network, set[ipaddress.IPv4Address]] = defaultdict(set)
    for host, d in sorted(intents.items()):
        for i in d.interfaces:
            where = f"{host}.{i.name}"
            if i.vrrp:
                vips[ipaddress.IPv4Address(i.vrrp.vip)].add(host)
            if not i.address:
                continue
            addr = ipaddress.IPv4Interface(i.address)
            net = addr.network
            owners[addr.ip].append(where)
            statics[net].add(addr.ip)
            if net.prefixlen < 31 and addr.ip in (net.network_address, net.broadcast_address):
                kind = "network" if addr.ip == net.network_address else "broadcast"
                out.append(_diag(where, f"{addr} is the {kind} address of {net}",
                                 "pin a host address inside the subnet, or remove the pin and let IPAM allocate"))
    for ip, wheres in sorted(owners.items()):
        if len(wheres) > 1:
            out.append(_diag(wheres[0], f"{ip} is configured on {len(wheres)} interfaces: {', '.join(wheres)}",
                             "give each interface its own address (check pins and the lock file)"))
        if ip in vips:
            hosts = {w.split(".", 1)[0] for w in wheres}
            out.append(_diag(wheres[0], f"{ip} is the VRRP virtual address of {', '.join(sorted(vips[ip]))} "
                             f"and also an interface address on {', '.join(sorted(hosts))}",
                             "keep the gateway's virtual address free: move the interface or the pin"))
    for host, d in sorted(intents.items()):
        for pool in d.dhcp:
            net = ipaddress.IPv4Network(pool.network)
            lo, hi = ipaddress.IPv4Address(pool.range_start), ipaddress.IPv4Address(pool.range_end)
            taken = sorted(a for a in statics.get(net, set()) | {v for v in vips if v in net} if lo <= a <= hi)
            if taken:
                out.append(_diag(f"{host}.dhcp.{pool.name}",
                                 f"DHCP range {lo}-{hi} hands out statically used {', '.join(map(str, taken))}",
                                 "raise reserve_first for this LAN so the range starts above static addresses"))
    return sorted(set(out))
