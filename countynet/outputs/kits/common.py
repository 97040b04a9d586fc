"""What every field kit checks, and where: the error codes (Chinese first) and each site's addresses.

The kits walk the path outwards one step at a time and stop at the first failure with a numbered code, so
a phone call to the centre can start with "错误 E03". The order tells a line fault from a server fault:
E03 means nothing at the centre answers (the leased line or the VPN), E05 means the centre's gateway answers
but the portal or a business system does not (a server fault: the line is fine).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from countynet.intent.models import DeviceIntent

# code -> (what failed, Chinese; English; what to do, Chinese then English)
ERRORS: list[tuple[str, str, str, str]] = [
    ("E01", "本机没有获得本单位网段的地址", "This PC has no address in the site's LAN",
     "检查网线是否插好、交换机或路由器指示灯是否亮；重新获取地址（拔插网线或重启电脑）。"
     " Check the cable and the port lights; renew the address (re-plug the cable or reboot)."),
    ("E02", "无法连通本地网关（乡镇交换机或村路由器）", "Cannot reach the local gateway (township switch or "
     "village router)",
     "检查交换机/路由器电源，以及电脑到它的网线。 Check the switch's or router's power and the cable to it."),
    ("E03", "无法连通县信息中心（线路故障：专线或VPN中断）", "Cannot reach the county information centre (line "
     "fault: leased line or VPN down)",
     "查看路由器上联口（专线口或宽带口）指示灯；致电县信息中心报告“错误 E03”和本单位名称。"
     " Check the router's uplink light (leased line or broadband); call the centre with 'E03' and your site."),
    ("E04", "域名解析失败（县DNS服务器不应答或查不到门户名称）", "DNS lookup failed (the county DNS server does not "
     "answer or does not know the portal's name)",
     "线路正常。致电县信息中心报告“错误 E04”。 The line works. Call the centre and report 'E04'."),
    ("E05", "业务系统打不开（服务器故障，线路正常）", "A business system does not answer (server fault; the line "
     "works)",
     "线路正常，是中心服务器的问题。致电县信息中心报告“错误 E05”，说明哪个系统打不开。"
     " The line works; the fault is at the centre's server. Call the centre, report 'E05' and which system."),
]
# E01 has two causes that need different hands: the PC lacks the tool, or the PC lacks the address
E01_TOOL = ("本机缺少查看地址的命令（ip / hostname -I / ifconfig 都没有），无法检查地址",
            "This PC has no tool to list its addresses (no ip, hostname -I or ifconfig)",
            "请在有 ip 命令的电脑上运行（安装 iproute2），或致电县信息中心。"
            " Run the check on a PC with the ip command (package iproute2), or call the centre.")


@dataclass(frozen=True)
class Centre:
    """The county centre as every kit sees it."""

    gateway: str                # the portal's gateway at the centre: answers => the line works
    dns: str                    # the county DNS server
    portal_name: str            # a real name to resolve, portal.<domain>
    portal_addr: str            # what it should resolve to
    services: tuple[tuple[str, str, int], ...]  # (label, address, TCP port), the portal first


@dataclass(frozen=True)
class Site:
    """One township or village LAN a technician plugs a PC into."""

    key: str                              # "litian" or "litian/luxi" (the kit's directory)
    host: str                             # the LAN's gateway device
    title: str                            # Chinese first: 澧田镇芦溪村 Litian luxi (360830103201)
    kind: Literal["township", "village"]
    uplink: Literal["leased", "vpn"]
    nets: tuple[str, ...]                 # LAN prefixes
    gateways: tuple[str, ...]             # LAN gateway addresses


def _addr(d: DeviceIntent) -> str:
    return next(i.address for i in d.interfaces if i.address).split("/")[0]


def centre_of(intents: dict[str, DeviceIntent]) -> Centre | None:
    """The centre's DNS server, portal (and its gateway) and business systems; None without a portal."""
    servers = {h: d for h, d in intents.items() if d.server}
    portal = next((h for h in sorted(servers) if "portal" in h), None)
    dns = next((h for h, d in sorted(servers.items())
                if d.server and any(s.name == "dns" for s in d.server.services)), None)
    if not portal or not dns:
        return None
    p = servers[portal]
    checks = [("门户网站 portal", _addr(p), 443)]
    for h in ("yx-oa-1", "yx-docex-1"):
        if h in servers:
            checks.append((f"业务系统 {servers[h].server.function}", _addr(servers[h]), 443))  # type: ignore[union-attr]
    gateway = p.server.gateway if p.server and p.server.gateway else ""
    return Centre(gateway, _addr(servers[dns]), f"portal.{p.management.domain}", _addr(p), tuple(checks))


def sites_of(intents: dict[str, DeviceIntent]) -> list[Site]:
    """Every township LAN (its switch's gateways) and every village LAN (its router's), in name order."""
    out: list[Site] = []
    for h, d in sorted(intents.items()):
        if not d.township:
            continue
        if d.role == "township_switch":
            lans = [i for i in d.interfaces if i.kind == "svi" and i.zone and i.address and i.acl_in]
            kind: Literal["township", "village"] = "township"
            key = d.township
            uplink: Literal["leased", "vpn"] = "leased"
        elif d.role == "village_cpe":
            lans = [i for i in d.interfaces if i.zone == "village-lan" and i.address]
            kind, key = "village", f"{d.township}/{h.removeprefix(f'{h.split(chr(45))[0]}-{d.township}-')}"
            uplink = "vpn" if d.vpn and d.vpn.role == "spoke" else "leased"
        else:
            continue
        nets = tuple(str(ipaddress.IPv4Interface(i.address).network) for i in lans if i.address)
        gws = tuple(i.address.split("/")[0] for i in lans if i.address)
        if nets:
            out.append(Site(key, h, d.site_name or key, kind, uplink, nets, gws))
    return out
