"""CSV exports for auditors (issue 13, part 8): devices, addressing, cabling and the policy matrix.

Written with the standard library's `csv` (RFC 4180 quoting, so a name with a comma or a quote stays one
field), UTF-8 *with* BOM and CRLF line ends: that is what Excel and WPS on a Chinese Windows need to open a
CSV with Chinese text without garbling it. Headers are Chinese first (`主机名 hostname`). Every row comes
from the per-device intent or the compiled policy (build/policy/rules.json), the facts the configs carry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from countynet.intent.models import DeviceIntent

BOM = "\ufeff"
CSV_DIR = "docs/csv"

# Chinese names of the policy zones (zones not listed keep their own name)
ZONE_ZH = {
    "internet": "互联网", "city": "吉安市电子政务网", "dmz": "对外服务区(DMZ)", "servers": "业务服务器区",
    "management": "运维管理区", "compound": "县政府大院局域网", "training": "培训室", "unit-lan": "县直单位局域网",
    "township-lan": "乡镇局域网", "village-lan": "村局域网", "device-mgmt": "网络设备管理面",
}
ROLE_ZH = {
    "village_cpe": "村路由器", "township_router": "乡镇路由器", "township_switch": "乡镇交换机",
    "unit_router": "单位路由器",
    "server": "服务器", "core": "核心交换机", "wan": "广域网汇聚路由器", "firewall": "防火墙",
    "access_switch": "接入交换机", "city_edge": "市网边界路由器", "vpn_hub": "VPN汇聚网关",
}


def zone_label(z: str) -> str:
    """`乡镇局域网 township-lan`: Chinese first when the zone is known."""
    return f"{ZONE_ZH[z]} {z}" if z in ZONE_ZH else z


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """One CSV document: BOM, CRLF, every field quoted as needed."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return BOM + buf.getvalue()


def devices_csv(intents: dict[str, DeviceIntent]) -> str:
    rows = []
    for h, d in sorted(intents.items()):
        code = d.site_name.rsplit("(", 1)[1].rstrip(")") if d.role == "village_cpe" and "(" in d.site_name else ""
        rows.append([h, d.site_name, ROLE_ZH.get(d.role, ""), d.role, d.site, d.township or "", code,
                     d.vendor, d.model, d.platform, d.os, d.management.address, d.wave, d.fqdn])
    return to_csv(["主机名 hostname", "站点名称 site name", "角色 role (zh)", "角色 role", "站点 site",
                   "乡镇 township", "区划代码 division code", "厂商 vendor", "型号 model", "平台 platform",
                   "系统 os", "管理地址 management address", "批次 wave", "域名 fqdn"], rows)


def addressing_csv(intents: dict[str, DeviceIntent]) -> str:
    rows = []
    for h, d in sorted(intents.items()):
        for i in d.interfaces:
            if not i.address:
                continue
            net = i.address
            rows.append([h, d.site_name, i.name, i.kind, i.address, _network(net), i.vlan or "",
                         i.zone or "", i.ospf.area if i.ospf else "", i.description])
    return to_csv(["主机名 hostname", "站点名称 site name", "接口 interface", "类型 kind", "地址 address",
                   "网段 network", "VLAN", "安全区域 zone", "OSPF 区域 area", "描述 description"], rows)


def _network(addr: str) -> str:
    import ipaddress

    return str(ipaddress.IPv4Interface(addr).network)


def cabling_csv(intents: dict[str, DeviceIntent]) -> str:
    """One row per cable or line: both ends with their ports and addresses (each link once). A VLAN interface
    with a peer is a layer-3 adjacency over a cable listed by its physical ports, so it is left out."""
    rows = []
    seen: set[tuple[str, str]] = set()
    for h, d in sorted(intents.items()):
        for i in d.interfaces:
            if not i.peer or i.kind in ("svi", "tunnel") or (i.peer.host, i.peer.interface) in seen:
                continue
            seen.add((h, i.name))
            other = intents.get(i.peer.host)
            far = next((j for j in other.interfaces if j.name == i.peer.interface), None) if other else None
            rows.append([i.link or "", h, d.site_name, i.name, i.address or "", i.peer.host,
                         other.site_name if other else "", i.peer.interface, far.address if far and far.address
                         else "", i.kind, i.description])
    return to_csv(["链路 link", "A端设备 A host", "A端站点 A site", "A端接口 A port", "A端地址 A address",
                   "B端设备 B host", "B端站点 B site", "B端接口 B port", "B端地址 B address", "类型 kind",
                   "描述 description"], rows)


def policy_rows(rules: dict[str, Any]) -> list[list[str]]:
    """(from zone, to zone, action, services, ports, destination hosts, rule, owner, reason, expires) for every
    zone pair a rule in force covers, deny rules first as the devices apply them."""
    rows = []
    for r in rules.get("rules", []):
        ports = " ".join(f"{p['protocol']}/{p['low']}" + (f"-{p['high']}" if p["high"] != p["low"] else "")
                         for p in r.get("ports", [])) or "any"
        for src in r["from"]:
            for dst in r["to"]:
                action = "允许 allow" if r.get("action", "allow") == "allow" else "禁止 deny"
                rows.append([zone_label(src), zone_label(dst), action,
                             " ".join(r.get("services", [])) or "any", ports,
                             " ".join(r.get("destination_hosts", [])), r["name"], r.get("owner") or "",
                             r.get("reason") or "", r.get("expires") or ""])
    return rows


def policy_csv(rules: dict[str, Any]) -> str:
    return to_csv(["源区域 from zone", "目的区域 to zone", "动作 action", "服务 services", "端口 ports",
                   "目的主机 destination hosts", "规则 rule", "负责人 owner", "理由 reason", "有效期至 expires"],
                  policy_rows(rules))


def csv_files(intents: dict[str, DeviceIntent], rules: dict[str, Any]) -> dict[str, str]:
    """`docs/csv/{devices,addressing,cabling,policy-matrix}.csv`."""
    return {f"{CSV_DIR}/devices.csv": devices_csv(intents), f"{CSV_DIR}/addressing.csv": addressing_csv(intents),
            f"{CSV_DIR}/cabling.csv": cabling_csv(intents), f"{CSV_DIR}/policy-matrix.csv": policy_csv(rules)}
