"""Turn any device's intent into the intent of the Linux box that emulates it in the lab.

The lab configures every namespace from the `linux` rendering of an intent, so a Huawei core or a Cisco
city edge first becomes a Linux router: platform linux, Linux interface names (<= 15 chars), switching
collapsed (access/trunk/LAG ports vanish: the lab's bridges do the L2 work), routed ports and transit SVIs
renamed `e0`, `e1`, ... (the lab's veth names: vendor port names are no Linux names); the loopback and the
LAN SVIs get the names the linux templates give them (`lo`, `br<vlan>`), asked of the render stage, so the
naming lives in one place; VRRP dropped (the lab puts the virtual address on the group's master);
route-based IPsec tunnels emulated policy-based (this lab's kernel has neither ESP nor XFRM interfaces; see
docs/lab.md "Route-based IPsec"): the tunnel device goes, a tunnel address stays as a /32 on `lo` (lab/plan.py:
the router still sources traffic from it), the peer's selectors are what the intent routes into the tunnel,
and the routes into it go (a spoke: strongSwan routes the remote selectors in table 220) or, at a hub, point
at the ISP (they stay static routes, so OSPF still redistributes them; table 220 steers the packets into the
SA). The name map (original -> Linux) is kept for reports.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from countynet.intent.models import DeviceIntent, Interface

L2_KINDS = ("access", "trunk", "lag", "lag_member")


@dataclass
class Linuxified:
    intent: DeviceIntent
    names: dict[str, str]  # original interface name -> Linux name
    vips: dict[str, str] = field(default_factory=dict)  # Linux ifname -> VRRP address/len held by this device
    vrrp_backup: bool = False  # in a VRRP group but master of none


def vrrp_masters(intents: Mapping[str, DeviceIntent], scope: Collection[str]) -> dict[str, str]:
    """VRRP virtual address -> hostname of the in-scope device with the highest priority (the master)."""
    best: dict[str, tuple[int, str]] = {}
    for host in sorted(scope):
        for i in intents[host].interfaces:
            if i.vrrp and (i.vrrp.vip not in best or i.vrrp.priority > best[i.vrrp.vip][0]):
                best[i.vrrp.vip] = (i.vrrp.priority, host)
    return {vip: host for vip, (_, host) in best.items()}


@functools.cache
def _name_template() -> Any:
    from countynet.render.engine import environment

    return environment().from_string("{% import 'base/_linux_lib.j2' as L %}{{ L.lname(i) }}")


def template_name(i: Interface) -> str:
    """The Linux name the render stage's linux templates give interface `i` (`lo`, `br<vlan>`, ...)."""
    return str(_name_template().render(i=i)).strip()


def linux_names(d: DeviceIntent, scope: Collection[str] | None = None) -> dict[str, str]:
    """Original -> Linux interface name for the interfaces the Linux box keeps."""
    names: dict[str, str] = {}
    n = 0
    for i in d.interfaces:
        if i.kind in L2_KINDS:
            continue
        if i.peer and scope is not None and i.peer.host not in scope:
            continue
        if i.kind == "tunnel":
            continue  # the lab runs IPsec policy-based (no ESP, no XFRM interfaces here): no tunnel device
        if i.kind == "loopback" or (i.kind == "svi" and not i.peer):
            names[i.name] = template_name(i)
        else:
            names[i.name] = f"e{n}"
            n += 1
    return names


def linuxify_full(d: DeviceIntent, scope: Collection[str] | None = None,
                  masters: Mapping[str, str] | None = None) -> Linuxified:
    """The Linux intent, its interface name map and the VRRP addresses this box holds."""
    names = linux_names(d, scope)
    ifs: list[Interface] = []
    vips: dict[str, str] = {}
    tunnels = {i.name for i in d.interfaces if i.kind == "tunnel"}
    for i in d.interfaces:
        if i.name not in names:
            continue
        new = names[i.name]
        upd: dict[str, object] = {"name": new, "vrrp": None, "vlan": None, "vlans": [], "lag": None,
                                  "lag_id": None}
        if i.kind == "svi":
            upd["kind"] = "routed"
        if i.tunnel:
            upd["tunnel"] = i.tunnel.model_copy(update={"source": names.get(i.tunnel.source, i.tunnel.source)})
        if i.vrrp and i.address and (masters is None or masters.get(i.vrrp.vip) == d.hostname):
            vips[new] = f"{i.vrrp.vip}/{i.address.split('/')[1]}"
        ifs.append(i.model_copy(update=upd))
    static = []
    isp = next((r.next_hop for r in d.routing.static if r.prefix == "0.0.0.0/0" and r.next_hop), None)
    hub = d.vpn is not None and d.vpn.role == "hub"
    for r in d.routing.static:
        if r.interface in tunnels:
            if hub and isp:
                static.append(r.model_copy(update={"interface": None, "next_hop": isp}))
        elif r.interface == "null":
            static.append(r.model_copy(update={"interface": "blackhole"}))
        elif r.interface is None:
            static.append(r)
        elif r.interface in names:
            static.append(r.model_copy(update={"interface": names[r.interface]}))
    routing = d.routing.model_copy(update={"static": static})
    vpn = d.vpn
    if vpn:
        peers = [p.model_copy(update={"tunnel_interface": names.get(p.tunnel_interface) if p.tunnel_interface
                                      else None}) for p in vpn.peers]
        vpn = vpn.model_copy(update={"peers": peers})
    nat = d.nat
    if nat:
        nat = nat.model_copy(update={"outside_interface": names.get(nat.outside_interface, nat.outside_interface)})
    dhcp = [p.model_copy(update={"interface": names[p.interface]}) for p in d.dhcp if p.interface in names]
    mgmt = d.management.model_copy(update={"source_interface": names.get(d.management.source_interface, "lo")})
    intent = d.model_copy(update={"platform": "linux", "interfaces": ifs, "vlans": [], "routing": routing,
                                  "vpn": vpn, "nat": nat, "dhcp": dhcp, "management": mgmt})
    backup = any(i.vrrp for i in d.interfaces) and not vips
    return Linuxified(DeviceIntent.model_validate(intent.model_dump()), names, vips, backup)


def linuxify(intent: DeviceIntent, scope: Collection[str] | None = None) -> DeviceIntent:
    """The intent of the Linux box that emulates `intent` (see linuxify_full for the name map)."""
    return linuxify_full(intent, scope).intent
