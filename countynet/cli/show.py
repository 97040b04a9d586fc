"""`countynet show`: one device's intent or one site's devices, as rich tables or JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from countynet.intent.models import DeviceIntent


def show_device(d: DeviceIntent, con: Console, as_json: bool) -> None:
    if as_json:
        print(json.dumps(d.model_dump(mode="json", exclude_defaults=True), indent=1, ensure_ascii=False))
        return
    con.print(f"[bold]{d.hostname}[/]  {d.role}  {d.vendor} {d.model} ({d.platform} {d.os})  site {d.site}  "
              f"wave {d.wave}  management {d.management.address}")
    t = Table(title="interfaces")
    for col in ("name", "kind", "address", "vlan(s)", "zone", "ospf area", "peer", "description"):
        t.add_column(col)
    for i in d.interfaces:
        vl = str(i.vlan) if i.vlan else ",".join(map(str, i.vlans))
        peer = f"{i.peer.host} {i.peer.interface}" if i.peer else ""
        t.add_row(i.name, i.kind, i.address or "", vl, i.zone or "", i.ospf.area if i.ospf else "", peer,
                  i.description)
    con.print(t)
    r = d.routing
    if r.ospf:
        areas = ", ".join(f"{a.id} ({a.type}{'; ranges ' + ' '.join(a.ranges) if a.ranges else ''})"
                          for a in r.ospf.areas)
        con.print(f"OSPF {r.ospf.process} router-id {r.ospf.router_id}: areas {areas}")
    for s in r.static:
        con.print(f"static {s.prefix} -> {s.next_hop or s.interface}  {s.description}")
    if r.bgp:
        for n in r.bgp.neighbors:
            con.print(f"BGP AS {r.bgp.asn} neighbour {n.address} AS {n.remote_as} ({n.description})")
    if d.vpn:
        con.print(f"VPN {d.vpn.role}: {len(d.vpn.peers)} peer(s), IKEv{d.vpn.ike_version} {d.vpn.ike_proposal}")


def _site_devices(result: Any, site: str) -> list[DeviceIntent]:
    key = site
    if site not in ("centre",) and ":" not in site:
        key = f"township:{site}"
    return [d for d in result.intents.values() if d.site == key]


def show_site(result: Any, site: str, con: Console, as_json: bool) -> bool:
    devs = _site_devices(result, site)
    if not devs:
        return False
    if as_json:
        print(json.dumps([{"hostname": d.hostname, "role": d.role, "platform": d.platform, "model": d.model,
                           "management": d.management.address,
                           "lans": [i.address for i in d.interfaces if i.zone and i.zone.endswith("lan")]}
                          for d in devs], indent=1, ensure_ascii=False))
        return True
    t = Table(title=f"site {site}: {len(devs)} devices")
    for col in ("host", "role", "platform", "model", "management", "LAN", "uplink"):
        t.add_column(col)
    for d in devs:
        lans = " ".join(i.address or "" for i in d.interfaces if i.zone and i.zone.endswith("lan"))
        up = next((f"{i.name} -> {i.peer.host}" for i in d.interfaces if i.peer and i.kind in ("routed", "svi")
                   and i.link and i.link.startswith("uplink:")), "")
        if not up and d.vpn and d.vpn.role == "spoke":
            up = f"IPsec -> {d.vpn.peers[0].name}"
        t.add_row(d.hostname, d.role, d.platform, d.model, d.management.address, lans, up)
    con.print(t)
    return True
