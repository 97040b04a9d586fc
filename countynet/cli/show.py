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
    con.print(f"[bold]{d.hostname}[/]  {d.site_name}  {d.role}  {d.vendor} {d.model} ({d.platform} {d.os})  "
              f"site {d.site}  wave {d.wave}  management {d.management.address}")
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


def _names(zh: str) -> set[str]:
    """A Chinese place name as people write it: 澧田镇 also answers to 澧田, 芦溪村 to 芦溪."""
    return {zh, zh[:-1]} if len(zh) > 2 and zh[-1] in "镇乡村" else {zh} if zh else set()


def resolve(result: Any, name: str) -> tuple[str, list[DeviceIntent]]:
    """What `show NAME` means: ("site", devices) for a site or township (id, 澧田镇 / 澧田, its plan name, its
    pinyin or 9-digit code), ("village", devices) for villages (芦溪村, 澧田镇芦溪村, litian/luxi, pinyin or
    12-digit code; a name several townships share gives all of them), or ("", []) when nothing matches."""
    devs = _site_devices(result, name)
    if devs:
        return "site", devs
    low = name.strip().lower()
    by_village: dict[tuple[str, str], DeviceIntent] = {(d.township, d.hostname.rsplit("-", 1)[-1]): d
                                                       for d in result.intents.values()
                                                       if d.role == "village_cpe" and d.township}
    for tw in result.topology.townships:
        if name in _names(tw.name_zh) | _names(tw.name_in_plan_zh) or low in (tw.pinyin.lower(), tw.code or "-"):
            return "site", _site_devices(result, tw.id)
    hits: list[DeviceIntent] = []
    for tw in result.topology.townships:
        for v in tw.villages:
            d = by_village.get((tw.id, v.id))
            if d is None:
                continue
            zh = _names(v.name_zh)
            full = {t + n for t in _names(tw.name_zh) for n in zh}
            if name in zh | full or low in (f"{tw.id}/{v.id}", v.code or "-", f"{tw.id}-{v.id}"):
                hits.append(d)
    if not hits:  # pinyin alone last: it may match several villages
        hits = [by_village[(tw.id, v.id)] for tw in result.topology.townships for v in tw.villages
                if (tw.id, v.id) in by_village and low in (v.id, (v.pinyin or "").replace(" ", ""))]
    return ("village", hits) if hits else ("", [])


def show_site(result: Any, site: str, con: Console, as_json: bool) -> bool:
    """Print the site, township or village(s) `site` names (see `resolve`); False when it names none."""
    kind, devs = resolve(result, site)
    if not devs:
        return False
    if kind == "village" and len(devs) == 1:
        show_device(devs[0], con, as_json)
        return True
    if as_json:
        print(json.dumps([{"hostname": d.hostname, "role": d.role, "platform": d.platform, "model": d.model,
                           "site": d.site, "site_name": d.site_name, "management": d.management.address,
                           "lans": [i.address for i in d.interfaces if i.zone and i.zone.endswith("lan")]}
                          for d in devs], indent=1, ensure_ascii=False))
        return True
    title = (f"{len(devs)} 个同名村 villages share the name {site!r}" if kind == "village"
             else f"{next((d.site_name for d in devs if d.role != 'village_cpe'), site)} ({site}): "
                  f"{len(devs)} devices")
    t = Table(title=title)
    for col in ("host", "名称 name", "role", "platform", "model", "management", "LAN", "uplink"):
        t.add_column(col)
    for d in devs:
        lans = " ".join(i.address or "" for i in d.interfaces if i.zone and i.zone.endswith("lan"))
        up = next((f"{i.name} -> {i.peer.host}" for i in d.interfaces if i.peer and i.kind in ("routed", "svi")
                   and i.link and i.link.startswith("uplink:")), "")
        if not up and d.vpn and d.vpn.role == "spoke":
            up = f"IPsec -> {d.vpn.peers[0].name}"
        name = d.site_name.split(" ")[0] if d.role == "village_cpe" else ""
        t.add_row(d.hostname, name, d.role, d.platform, d.model, d.management.address, lans, up)
    con.print(t)
    return True
