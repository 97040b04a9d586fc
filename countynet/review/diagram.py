"""Topology diagrams of a review as SVG, drawn by Graphviz (`dot`, through the `graphviz` package).

Three kinds: the county (the centre, each township, the county-direct units as one node), each township with its
villages (leased lines solid, VPN villages dashed to the VPN hub), and each OSPF area with its devices.
Every diagram is drawn over the union of the two builds, so a removed device still shows; changed parts are
coloured and labelled (colour is never the only mark): added green "+", removed red dashed "−", moved
orange "↦" (drawn at both ends of the move), configuration changed blue "~".

Graphviz is well kept, lays out hundreds of nodes in milliseconds and writes plain SVG with no script or
external reference, which the self-contained review page inlines as is.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass

from countynet.review.compare import Device, Review

COLOURS = {"added": "#1a7f37", "removed": "#cf222e", "moved": "#bf8700", "changed": "#0969da", "": "#57606a"}
MARKS = {"added": "+", "removed": "−", "moved": "↦", "changed": "~", "": ""}
LEGEND = [("added", "新增 added"), ("removed", "删除 removed"), ("moved", "迁移 moved"),
          ("changed", "配置变更 configuration changed"), ("", "未变 unchanged")]
RANK = {"removed": 4, "moved": 3, "added": 2, "changed": 1, "": 0}
FONT = "Noto Sans CJK SC"


class DiagramsUnavailable(Exception):
    """Graphviz (the `dot` program or the `graphviz` Python package) is not installed."""


@dataclass
class Diagram:
    kind: str        # county | township | area
    key: str         # township id or area id ("" for the county)
    title: str
    changed: bool
    svg: str         # inline <svg> element
    marks: dict[str, str]  # node name -> change kind, for the Markdown text


def available() -> str | None:
    """None when diagrams can be drawn here, else why not (and how to fix it)."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return "the graphviz Python package is missing (pip install graphviz)"
    if shutil.which("dot") is None:
        return "Graphviz's dot program is missing (apt-get install graphviz)"
    return None


def _kinds(review: Review) -> tuple[dict[str, str], dict[str, str]]:
    """Change kind per host name, for the before side and the after side."""
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for c in review.devices:
        if c.kind == "removed":
            before[c.host] = "removed"
        elif c.kind == "moved":
            before[c.old_host or c.host] = "moved"
            after[c.host] = "moved"
        else:
            after[c.host] = c.kind
    return before, after


def _union(review: Review) -> list[tuple[Device, str, bool]]:
    """(device, change kind, drawn from the before side) for every device of either build."""
    kb, ka = _kinds(review)
    out = [(d, ka.get(h, ""), False) for h, d in review.devices_after.items()]
    for h, d in review.devices_before.items():
        if h not in review.devices_after or (kb.get(h) == "moved" and review.devices_after[h].site != d.site):
            out.append((d, kb.get(h, ""), True))
    return out


def _worst(kinds: Iterable[str]) -> str:
    return max(kinds, key=lambda k: RANK[k], default="")


def _node(g: object, name: str, label: str, kind: str, ghost: bool = False, shape: str = "box") -> None:
    name = _gv(name)
    colour = COLOURS[kind]
    mark = MARKS[kind]
    text = f"{mark} {label}" if mark else label
    style = "rounded,dashed" if ghost or kind == "removed" else "rounded,filled" if kind else "rounded"
    g.node(name, text, shape=shape, color=colour, fontcolor=colour if kind else "#24292f",  # type: ignore[attr-defined]
           style=style, fillcolor="#ffffff" if not kind else _tint(kind), penwidth="2.2" if kind else "1",
           id=f"node-{_css_id(name)}", tooltip=f"{label} ({kind or 'unchanged'})")


def _tint(kind: str) -> str:
    return {"added": "#dafbe1", "removed": "#ffebe9", "moved": "#fff8c5", "changed": "#ddf4ff"}.get(kind, "#ffffff")


def _gv(name: str) -> str:
    """A node name Graphviz takes as a name (a colon would start a port)."""
    return name.replace(":", "_")


def _css_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _graph(name: str, engine: str = "dot") -> object:
    import graphviz

    g = graphviz.Digraph(name=name, format="svg", engine=engine)
    g.attr(rankdir="LR", fontname=FONT, fontsize="11", bgcolor="transparent")
    g.attr("node", fontname=FONT, fontsize="10")
    g.attr("edge", fontname=FONT, fontsize="9", color="#8c959f", arrowhead="none")
    return g


def _svg(g: object) -> str:
    data = g.pipe(format="svg").decode("utf-8")  # type: ignore[attr-defined]
    start = data.find("<svg")
    return data[start:] if start >= 0 else data


def county(review: Review) -> Diagram:
    """The centre, each township and the county-direct units (one node), coloured by their worst change;
    drawn radially (twopi) around the centre so that 23 townships fit one screen."""
    g = _graph("county", engine="twopi")
    g.attr(root="centre", overlap="false", ranksep="2.2")  # type: ignore[attr-defined]
    sites: dict[str, list[tuple[Device, str]]] = {}
    for d, kind, _ in _union(review):
        sites.setdefault(d.site, []).append((d, kind))
    marks: dict[str, str] = {}
    centre_name = next((d.site_name for d, _ in sites.get("centre", [])), "信息中心 information centre")
    ck = _worst(k for _, k in sites.get("centre", []))
    _node(g, "centre", f"{centre_name}\n{len(sites.get('centre', []))} devices", ck, shape="box3d")
    marks["centre"] = ck
    units = {s: v for s, v in sites.items() if s.startswith("unit:")}
    uk = _worst(k for v in units.values() for _, k in v)
    changed_units = sorted(s for s, v in units.items() if _worst(k for _, k in v))
    _node(g, "units", f"县直单位 county-direct units\n{len(units)} units, {len(changed_units)} changed", uk,
          shape="folder")
    marks["units"] = uk
    g.edge("centre", "units")  # type: ignore[attr-defined]
    for s in sorted(x for x in sites if x.startswith("township:")):
        devs = sites[s]
        k = _worst(kind for _, kind in devs)
        villages = sum(1 for d, kind in devs if d.role == "village_cpe" and kind != "removed")
        name = next((d.site_name for d, _ in devs if d.role != "village_cpe"), s.removeprefix("township:"))
        _node(g, s, f"{name}\n{villages} villages", k)
        marks[s] = k
        g.edge("centre", _gv(s))  # type: ignore[attr-defined]
    return Diagram("county", "", "全县 the county", any(marks.values()), _svg(g), marks)


def township(review: Review, tw: str) -> Diagram:
    """One township: its router and switch, each village with its uplink (VPN villages to the hub)."""
    devs = [(d, k, ghost) for d, k, ghost in _union(review) if d.township == tw]
    g = _graph(f"township_{tw}")
    marks: dict[str, str] = {}
    names = {d.host for d, _, _ in devs}
    title = next((d.site_name for d, _, ghost in devs if not ghost and d.role != "village_cpe"), tw)
    for d, kind, ghost in sorted(devs, key=lambda x: x[0].host):
        node = f"{d.host}@before" if ghost and d.host in review.devices_after else d.host
        label = d.host + (f"\n{d.label}" if d.label else "")
        if ghost and kind == "moved":
            label += "\n(迁出 moved out)"
        _node(g, node, label, kind, ghost, shape="ellipse" if d.role == "village_cpe" else "box")
        marks[node] = kind
        up = d.uplink
        if up and up not in names:
            g.node(_gv(up), up, shape="box", style="dotted", color="#8c959f", fontcolor="#57606a",  # type: ignore[attr-defined]
                   id=f"node-{_css_id(up)}")
            names.add(up)
        if up:
            g.edge(_gv(up), _gv(node), style="dashed" if d.attach == "vpn" else "solid",  # type: ignore[attr-defined]
                   color=COLOURS[kind] if kind else "#8c959f", label="VPN" if d.attach == "vpn" else "")
    return Diagram("township", tw, title, any(marks.values()), _svg(g), marks)


def area(review: Review, area_id: str) -> Diagram:
    """One OSPF area: its devices, linked to their uplink where the uplink is in the area too."""
    devs = [(d, k, ghost) for d, k, ghost in _union(review) if area_id in d.areas]
    g = _graph(f"area_{area_id}")
    marks: dict[str, str] = {}
    in_area = {d.host for d, _, _ in devs}
    g.attr(label=f"OSPF area {area_id}", labelloc="t")  # type: ignore[attr-defined]
    for d, kind, ghost in sorted(devs, key=lambda x: x[0].host):
        node = f"{d.host}@before" if ghost and d.host in review.devices_after else d.host
        _node(g, node, d.host, kind, ghost, shape="ellipse" if d.role == "village_cpe" else "box")
        marks[node] = kind
        if d.uplink and d.uplink in in_area:
            g.edge(_gv(d.uplink), _gv(node), color=COLOURS[kind] if kind else "#8c959f")  # type: ignore[attr-defined]
    sites = sorted({d.site_name for d, _, _ in devs if d.site.startswith("township:")})
    title = f"OSPF 区域 area {area_id}" + (f" ({', '.join(sites[:3])})" if sites and len(sites) <= 3 else "")
    return Diagram("area", area_id, title, any(marks.values()), _svg(g), marks)


def diagrams(review: Review) -> list[Diagram]:
    """The county, every township and every OSPF area of either build (raises DiagramsUnavailable)."""
    why = available()
    if why:
        raise DiagramsUnavailable(why)
    union = _union(review)
    townships = sorted({d.township for d, _, _ in union if d.township})
    areas = sorted({a for d, _, _ in union for a in d.areas}, key=lambda a: tuple(int(x) for x in a.split(".")))
    return [county(review), *(township(review, t) for t in townships), *(area(review, a) for a in areas)]
