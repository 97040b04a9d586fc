"""The hosting machine room's documents in `build/machine-room/` (docs/hosting.md):

* `racks/<rack>.svg`: one rack elevation per rack (written as SVG directly: it is boxes and text, and a layout
  engine such as Graphviz cannot place a box at a given U);
* `cabling.csv`: every hosted server's ports and every rack switch's uplinks (rack, U, device, port, peer, peer
  port, cable id, plane), CSV with BOM for Excel/WPS on a Chinese Windows (countynet.outputs.csv_exports);
* `hosting/<unit>.md`: one sheet per hosting unit, Chinese first with English, for the unit and the auditors;
* `capacity.csv` / `capacity.md`: space, power and ports per rack and per unit;
* `separation.json`: the plane-separation proof on the cabling graph (networkx): no path joins an intranet
  device to any extranet device or the internet.

Everything comes from the placement in the lock's `placement` section (countynet.ipam.placement), the
topology's racks and hosted servers, and the devices' intents (the rack switches' uplinks).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import networkx as nx

from countynet.outputs.csv_exports import to_csv
from countynet.topology.hosting import hosted
from countynet.topology.ranges import expand_ports

if TYPE_CHECKING:
    from countynet.intent.models import DeviceIntent
    from countynet.outputs.result import BuildResult
    from countynet.topology.models import HostedServer, Rack, Unit

DIR = "machine-room"
CABLING_HEADER = ["机柜 rack", "U位 u", "设备 device", "端口 port", "对端 peer", "对端端口 peer_port",
                  "线缆 cable", "网络 plane"]
CAPACITY_HEADER = ["类别 kind", "名称 name", "已用U used_u", "总U total_u", "已用功率W used_watts",
                   "功率预算W budget_watts", "已用端口 used_ports", "总端口 total_ports"]
PLANE_ZH = {"intranet": "政务内网", "extranet": "政务外网"}
INTERNET = "internet"
U_PX, WIDTH, LEFT = 18, 360, 40
SWITCH_U = 1  # the rack switch sits in the units below first_u (U1)


def machine_room_files(result: BuildResult) -> dict[str, str]:
    """Every machine-room document (relative path -> text); nothing when the topology hosts no server."""
    t = result.topology
    placement = (result.lock.get("placement") or {}).get("servers") or {}
    if t.centre.hosting is None or not placement:
        return {}
    racks = {r.name: r for r in t.centre.hosting.racks}
    servers = {x.server.name: (x.unit, x.server) for x in hosted(t.units.units)}
    addresses = (result.lock.get("placement") or {}).get("addresses") or {}
    host_addr = {**addresses.get("hosting_host", {}), **addresses.get("intranet_host", {})}
    out: dict[str, str] = {}
    rows = _cabling(racks, servers, placement, result.intents)
    out[f"{DIR}/cabling.csv"] = to_csv(CABLING_HEADER, rows)
    for name, rack in racks.items():
        out[f"{DIR}/racks/{name}.svg"] = rack_svg(rack, [(n, p, servers[n][1], servers[n][0])
                                                        for n, p in placement.items() if p["rack"] == name])
    cap_rows = _capacity(racks, servers, placement)
    out[f"{DIR}/capacity.csv"] = to_csv(CAPACITY_HEADER, cap_rows)
    out[f"{DIR}/capacity.md"] = _capacity_md(cap_rows)
    for unit in {u.id: u for u, _s in servers.values()}.values():
        out[f"{DIR}/hosting/{unit.id}.md"] = _unit_sheet(unit, placement, racks, host_addr)
    graph = cabling_graph(rows, result.intents)
    out[f"{DIR}/separation.json"] = json.dumps(separation(graph), indent=2, ensure_ascii=False) + "\n"
    return out


def _cabling(racks: dict[str, Rack], servers: dict[str, tuple[Unit, HostedServer]], placement: dict[str, Any],
             intents: dict[str, DeviceIntent]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    n = 0
    for name in sorted(placement, key=lambda s: (placement[s]["rack"], placement[s]["u"])):
        p = placement[name]
        rack = racks[p["rack"]]
        for k, port in enumerate(p["ports"]):
            n += 1
            rows.append([rack.name, p["u"], name, f"eth{k}", rack.switch, port, f"{rack.name}-C{n:03d}",
                         rack.plane])
    for rack in racks.values():  # the rack switch's uplinks: the extranet's from its intent, the intranet's own
        d = intents.get(rack.switch)
        if rack.plane == "extranet" and d is not None:
            for i in d.interfaces:
                if i.peer is not None and i.peer.host not in servers:
                    n += 1
                    rows.append([rack.name, SWITCH_U, rack.switch, i.name, i.peer.host, i.peer.interface,
                                 f"{rack.name}-C{n:03d}", rack.plane])
        elif rack.plane == "intranet":
            n += 1
            rows.append([rack.name, SWITCH_U, rack.switch, "uplink", "政务内网 intranet core (not built here)", "",
                         f"{rack.name}-C{n:03d}", rack.plane])
    return rows


def cabling_graph(rows: Iterable[list[Any]], intents: dict[str, DeviceIntent] | None = None) -> nx.Graph:
    """The physical graph: every cable of the sheet, plus (given the intents) every link the extranet's devices
    declare and the internet behind each internet-facing port; nodes carry their `plane`."""
    g: nx.Graph = nx.Graph()
    for r in rows:
        plane = str(r[7])
        for node in (str(r[2]), str(r[4])):
            if node:
                g.add_node(node, plane=plane)
        if r[4]:
            g.add_edge(str(r[2]), str(r[4]))
    for host, d in (intents or {}).items():
        g.add_node(host, plane="extranet")
        for i in d.interfaces:
            if i.peer is not None:
                g.add_edge(host, i.peer.host)
            if i.zone == INTERNET or i.nat_outside:
                g.add_node(INTERNET, plane="internet")
                g.add_edge(host, INTERNET)
    return g


def separation(g: nx.Graph) -> dict[str, Any]:
    """The plane proof: the connected components holding an intranet node, and any extranet or internet node
    found in one (none: proven)."""
    bad: list[list[str]] = []
    comps = []
    for comp in nx.connected_components(g):
        planes = {g.nodes[n].get("plane") for n in comp}
        if "intranet" in planes:
            comps.append(sorted(comp))
            if planes - {"intranet"}:
                bad.append(sorted(n for n in comp if g.nodes[n].get("plane") != "intranet"))
    return {"claim": "no path between the intranet (政务内网) and the extranet (政务外网) or the internet",
            "intranet_components": comps, "violations": bad, "proven": not bad}


def _capacity(racks: dict[str, Rack], servers: dict[str, tuple[Unit, HostedServer]],
              placement: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for rack in racks.values():
        mine = [servers[n][1] for n, p in placement.items() if p["rack"] == rack.name]
        rows.append(["机柜 rack", rack.name, sum(s.size.u for s in mine), rack.units - rack.first_u + 1,
                     sum(s.size.watts for s in mine), rack.power_watts, sum(s.size.ports for s in mine),
                     len(expand_ports(rack.ports))])
    units: dict[str, list[HostedServer]] = {}
    for n in placement:
        units.setdefault(servers[n][0].id, []).append(servers[n][1])
    for uid, mine in sorted(units.items()):
        rows.append(["单位 unit", uid, sum(s.size.u for s in mine), "", sum(s.size.watts for s in mine), "",
                     sum(s.size.ports for s in mine), ""])
    return rows


def _capacity_md(rows: list[list[Any]]) -> str:
    lines = ["# 机房容量 Machine-room capacity", "",
             "| 类别 kind | 名称 name | U 已用/总 used/total | 功率 W 已用/预算 used/budget "
             "| 端口 已用/总 ports used/total |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]} | {r[2]}/{r[3] or '-'} | {r[4]}/{r[5] or '-'} | {r[6]}/{r[7] or '-'} |")
    return "\n".join(lines) + "\n"


def _unit_sheet(unit: Unit, placement: dict[str, Any], racks: dict[str, Rack], addr: dict[str, str]) -> str:
    lines = [f"# {unit.name_zh} 托管服务器 / {unit.name_en}: hosted servers", "",
             "服务器托管在县信息中心机房。政务内网服务器与政务外网物理隔离（中办发〔2002〕17号），"
             "政务外网服务器位于本单位专属网段和安全区，仅本单位局域网及策略授权方可访问。", "",
             "The servers are hosted in the county information centre's machine room. Intranet (政务内网) servers are "
             "physically separate from the extranet (政务外网); extranet servers sit in the unit's own segment and "
             "security zone, reached only by the unit's own LAN and what the policy grants.", "",
             "| 服务器 server | 网络 plane | 用途 function | 机柜 rack | U位 U | 交换机端口 switch port "
             "| 地址 address | 服务 services | 对外发布 published |", "|---|---|---|---|---|---|---|---|---|"]
    for s in unit.hosted:
        p = placement.get(s.name)
        if p is None:
            continue
        rack = racks[p["rack"]]
        u_range = f"U{p['u']}" if s.size.u == 1 else f"U{p['u']}-U{p['u'] + s.size.u - 1}"
        lines.append(f"| {s.name} | {PLANE_ZH[s.plane]} {s.plane} | {_cell(s.function)} | {rack.name} | {u_range} | "
                     f"{rack.switch} {', '.join(p['ports'])} | {addr.get(s.name, '').split('/')[0]} | "
                     f"{', '.join(s.services) or '-'} | {', '.join(s.publish) or '否 no'} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def rack_svg(rack: Rack, servers: list[tuple[str, dict[str, Any], HostedServer, Unit]]) -> str:
    """A front elevation of `rack`: U numbers, the reserved units below first_u, each server as a box."""
    height = rack.units * U_PX
    top = 50

    def y(u: int, size: int = 1) -> int:  # U1 at the bottom
        return top + (rack.units - (u + size - 1)) * U_PX

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + LEFT + 20}" height="{height + top + 20}" '
             f'font-family="sans-serif" font-size="11">',
             f'<title>{escape(rack.name)} ({escape(PLANE_ZH[rack.plane])} {rack.plane})</title>',
             f'<text x="{LEFT}" y="20" font-size="14">{escape(rack.name)} {escape(PLANE_ZH[rack.plane])} '
             f'{rack.plane}: {escape(rack.switch)}</text>',
             f'<text x="{LEFT}" y="38">{escape(rack.description)}</text>',
             f'<rect x="{LEFT}" y="{top}" width="{WIDTH}" height="{height}" fill="#f4f4f4" stroke="#333"/>']
    for u in range(1, rack.units + 1):
        parts.append(f'<text x="{LEFT - 6}" y="{y(u) + U_PX - 5}" text-anchor="end">{u}</text>')
    if rack.first_u > 1:
        size = rack.first_u - 1
        parts.append(f'<rect x="{LEFT}" y="{y(1, size)}" width="{WIDTH}" height="{size * U_PX}" fill="#ccc" '
                     f'stroke="#333"/><text x="{LEFT + 6}" y="{y(1, size) + 13}">switch {escape(rack.switch)}, '
                     'patch panel 配线架</text>')
    fill = {"intranet": "#f7d9d9", "extranet": "#d9e8f7"}[rack.plane]
    for name, p, s, unit in sorted(servers, key=lambda x: x[1]["u"]):
        parts.append(f'<rect x="{LEFT}" y="{y(p["u"], s.size.u)}" width="{WIDTH}" height="{s.size.u * U_PX}" '
                     f'fill="{fill}" stroke="#333"><title>{escape(s.function)}</title></rect>')
        parts.append(f'<text x="{LEFT + 6}" y="{y(p["u"], s.size.u) + 13}">{escape(name)} · {escape(unit.name_zh)} · '
                     f'{s.size.watts} W · {escape(", ".join(p["ports"]))}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
