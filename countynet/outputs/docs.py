"""Generated documentation: one Markdown page per device and network-wide link and address tables.

Like AVD's device docs, they are written from the intent so reviewers read the same facts the configs
carry. A Mermaid diagram of the centre and the township uplinks gives the picture.
"""

from __future__ import annotations

from countynet.intent.models import DeviceIntent


def _device_md(d: DeviceIntent) -> str:
    lines = [f"# {d.hostname}", "", f"- role: {d.role}", f"- platform: {d.platform} ({d.os}), {d.vendor} {d.model}",
             f"- site: {d.site}; rollout wave {d.wave}", f"- management address: {d.management.address}", "",
             "## Interfaces", "", "| interface | kind | address | VLAN | zone | OSPF area | peer | description |",
             "|---|---|---|---|---|---|---|---|"]
    for i in d.interfaces:
        vl = str(i.vlan) if i.vlan else ",".join(map(str, i.vlans))
        peer = f"{i.peer.host} {i.peer.interface}" if i.peer else ""
        lines.append(f"| {i.name} | {i.kind} | {i.address or ''} | {vl} | {i.zone or ''} | "
                     f"{i.ospf.area if i.ospf else ''} | {peer} | {i.description} |")
    r = d.routing
    if r.ospf or r.static or r.bgp:
        lines += ["", "## Routing", ""]
    if r.ospf:
        lines.append(f"- OSPF process {r.ospf.process}, router id {r.ospf.router_id}")
        for a in r.ospf.areas:
            lines.append(f"  - area {a.id} {a.type}" + (f", summaries {', '.join(a.ranges)}" if a.ranges else ""))
    for s in r.static:
        lines.append(f"- static {s.prefix} via {s.next_hop or s.interface} ({s.description})")
    if r.bgp:
        for n in r.bgp.neighbors:
            lines.append(f"- eBGP AS {r.bgp.asn} <-> {n.address} AS {n.remote_as}: accept "
                         f"{', '.join(n.import_prefixes)}; announce {', '.join(n.export_prefixes)}")
    if d.vpn:
        lines += ["", "## VPN", "", f"- {d.vpn.role}, IKEv{d.vpn.ike_version}, IKE {d.vpn.ike_proposal}, "
                  f"ESP {d.vpn.esp_proposal}, {len(d.vpn.peers)} peer(s)"]
    if d.filters:
        lines += ["", "## Filters", ""]
        for f in d.filters:
            lines.append(f"- {f.name} ({len(f.rules)} rules)")
    return "\n".join(lines) + "\n"


def device_docs(intents: dict[str, DeviceIntent]) -> dict[str, str]:
    out = {f"docs/devices/{h}.md": _device_md(d) for h, d in intents.items()}
    links = ["# Point-to-point links", "", "| link | A | A interface | A address | B | B interface | B address |",
             "|---|---|---|---|---|---|---|"]
    seen: dict[str, tuple[str, str, str]] = {}
    for h, d in sorted(intents.items()):
        for i in d.interfaces:
            if i.link and i.kind in ("routed", "svi") and i.peer:
                if i.link in seen:
                    a = seen.pop(i.link)
                    links.append(f"| {i.link} | {a[0]} | {a[1]} | {a[2]} | {h} | {i.name} | {i.address or ''} |")
                else:
                    seen[i.link] = (h, i.name, i.address or "")
    out["docs/links.md"] = "\n".join(links) + "\n"
    mer = ["```mermaid", "graph TD"]
    for h, d in sorted(intents.items()):
        if (d.site == "centre" and d.role != "server") or d.role in ("township_router", "unit_router"):
            for i in d.interfaces:
                if i.peer and i.kind in ("routed", "lag") and h < i.peer.host and i.peer.host in intents:
                    other = intents[i.peer.host]
                    if other.site == "centre" or other.role in ("township_router", "unit_router"):
                        mer.append(f"  {h.replace('-', '_')}[{h}] --- {i.peer.host.replace('-', '_')}"
                                   f"[{i.peer.host}]")
    mer.append("```")
    out["docs/topology.md"] = "# Topology (centre and uplinks)\n\n" + "\n".join(mer) + "\n"
    return out
