"""Generated documentation: one Markdown page per device and network-wide link and address tables.

Like AVD's device docs, they are written from the intent so reviewers read the same facts the configs
carry. A Mermaid diagram of the centre and the township uplinks gives the picture.
"""

from __future__ import annotations

from typing import Any

from countynet.intent.models import DeviceIntent
from countynet.outputs.csv_exports import ZONE_ZH, csv_files, policy_rows, zone_label


def _device_md(d: DeviceIntent) -> str:
    lines = [f"# {d.hostname}" + (f" · {d.site_name}" if d.site_name else ""), "",
             f"- 站点 site: {d.site_name or d.site}", f"- role: {d.role}",
             f"- platform: {d.platform} ({d.os}), {d.vendor} {d.model}",
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


def _md(s: object) -> str:
    """Text for a Markdown table cell: pipes escaped, line breaks as spaces."""
    return str(s).replace("|", "\\|").replace("\n", " ")


def policy_matrix_md(rules: dict[str, Any], zones: dict[str, Any]) -> str:
    """The policy matrix for the 等保 (MLPS 2.0) review, Chinese first: zones x zones with the services each
    rule in force allows or denies, then every rule per zone pair with owner, reason and expiry, then the
    invariants the verification proves. `rules` is build/policy/rules.json; `zones` maps zone -> (kind,
    trust, description)."""
    names = list(zones)
    cell: dict[tuple[str, str], list[str]] = {}
    for r in rules.get("rules", []):
        mark = "✔" if r.get("action", "allow") == "allow" else "✘"
        for a in r["from"]:
            for b in r["to"]:
                cell.setdefault((a, b), []).append(f"{mark} {' '.join(r.get('services', [])) or 'any'}")
    lines = [
        "# 安全策略矩阵 Policy matrix (等级保护 MLPS 2.0 review)", "",
        f"默认动作 Default action: **{'禁止 deny' if rules.get('default_action') == 'deny' else 'allow'}**. "
        "优先级 Precedence: 禁止规则先于允许规则，其余一律禁止 (deny rules before allow rules; then default deny).",
        "", "来源 Source: `build/policy/rules.json` (the rules in force, as compiled into every device's filters); "
        "CSV: `csv/policy-matrix.csv`.", "",
        "## 安全区域 Zones", "", "| 区域 zone | 名称 name | 类型 kind | 信任级别 trust | 说明 description |",
        "|---|---|---|---|---|"]
    for z, (kind, trust, desc) in zones.items():
        lines.append(f"| `{z}` | {ZONE_ZH.get(z, '')} | {kind} | {trust} | {_md(desc)} |")
    lines += ["", "## 矩阵 Matrix (行=源 rows: from, 列=目的 columns: to)", "",
              "✔ 允许 allowed services; ✘ 禁止 denied; · 默认禁止 default deny.", "",
              "| 源 \\\\ 目的 from \\\\ to | " + " | ".join(f"{ZONE_ZH.get(z, z)}<br>`{z}`" for z in names) + " |",
              "|---" * (len(names) + 1) + "|"]
    for a in names:
        row = [("<br>".join(_md(c) for c in cell[(a, b)]) if (a, b) in cell else "·") for b in names]
        lines.append(f"| {ZONE_ZH.get(a, a)} `{a}` | " + " | ".join(row) + " |")
    lines += ["", "## 规则明细 Rules per zone pair", "",
              "| 源 from | 目的 to | 动作 action | 服务 services | 端口 ports | 目的主机 hosts | 规则 rule | "
              "负责人 owner | 理由 reason | 有效期至 expires |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in policy_rows(rules)]
    lines += ["", "## 不变量 Invariants (必须始终禁止 must always be denied; proven by `countynet verify`)", "",
              "| 名称 name | 源 from | 目的 to | 服务 services | 理由 reason |", "|---|---|---|---|---|"]
    for inv in rules.get("invariants", []):
        svc = inv.get("services")
        lines.append(f"| {_md(inv['name'])} | {_md(', '.join(zone_label(z) for z in inv['from']))} | "
                     f"{_md(', '.join(zone_label(z) for z in inv['to']))} | "
                     f"{_md(svc if isinstance(svc, str) else ' '.join(svc or []))} | {_md(inv.get('reason', ''))} |")
    return "\n".join(lines) + "\n"


def index_md(intents: dict[str, DeviceIntent], townships: list[Any]) -> str:
    """`docs/index.md`: what the build holds and where, Chinese first; every device, township and village."""
    by_site: dict[str, list[DeviceIntent]] = {}
    for d in intents.values():
        by_site.setdefault(d.site, []).append(d)
    villages = sum(len(tw.villages) for tw in townships)
    lines = [
        "# 永新县电子政务专网 文档索引 / Yongxin e-government network: documentation index", "",
        f"设备 {len(intents)} 台 devices; 乡镇 {len(townships)} 个 townships; 村 {villages} 个 villages.", "",
        "## 审计文档 For auditors", "",
        "- [安全策略矩阵 policy matrix (等保)](policy-matrix.md)",
        "- CSV (UTF-8 BOM, Excel/WPS): [设备 devices](csv/devices.csv), [地址 addressing](csv/addressing.csv), "
        "[布线 cabling](csv/cabling.csv), [策略矩阵 policy matrix](csv/policy-matrix.csv)",
        "- [点对点链路 point-to-point links](links.md), [拓扑 topology](topology.md)",
        "- 策略数据 policy data: `../policy/rules.json`, `../policy/zones.json`, `../policy/flows.json`",
        "- 现场工具包 field kits: `../bootstrap/<乡镇>/`, `../bootstrap/<乡镇>/<村>/` (docs/kits.md)", "",
        "## 县信息中心与县直单位 Centre and units", "", "| 主机名 host | 站点 site | 角色 role | 型号 model | "
        "管理地址 management |", "|---|---|---|---|---|"]
    for site in sorted(s for s in by_site if not s.startswith("township:")):
        for d in sorted(by_site[site], key=lambda x: x.hostname):
            lines.append(f"| [{d.hostname}](devices/{d.hostname}.md) | {_md(d.site_name)} | {d.role} | "
                         f"{d.vendor} {d.model} | {d.management.address} |")
    lines += ["", "## 乡镇与村 Townships and villages", ""]
    for tw in sorted(townships, key=lambda t: t.id):
        devs = {d.hostname: d for d in by_site.get(f"township:{tw.id}", [])}
        lines += [f"### {tw.name_zh} {tw.pinyin} ({tw.code or tw.id})", "",
                  " · ".join(f"[{h}](devices/{h}.md)" for h in sorted(devs) if devs[h].role != "village_cpe"), "",
                  "| 村 village | 区划代码 code | 主机名 host | 上联 uplink | 管理地址 management |",
                  "|---|---|---|---|---|"]
        for v in tw.villages:
            host = next((h for h in devs if h.endswith(f"-{tw.id}-{v.id}")), "")
            vd = devs.get(host)
            link = f"[{host}](devices/{host}.md)" if host else ""
            uplink = "专线 leased" if v.attach == "leased" else "VPN"
            lines.append(f"| {_md(v.name_zh)} {v.pinyin or ''} | {v.code or ''} | {link} | {uplink} | "
                         f"{vd.management.address if vd else ''} |")
        lines.append("")
    return "\n".join(lines)


def auditor_docs(intents: dict[str, DeviceIntent], townships: list[Any], zones: dict[str, Any],
                 rules: dict[str, Any]) -> dict[str, str]:
    """`docs/index.md`, `docs/policy-matrix.md` and the CSV exports under `docs/csv/`."""
    out = {"docs/index.md": index_md(intents, townships), "docs/policy-matrix.md": policy_matrix_md(rules, zones)}
    out.update(csv_files(intents, rules))
    return out
