"""Field kits, generated per township and per village from the intent (issue 13, part 7).

`bootstrap/<township>/` and `bootstrap/<township>/<village>/` each hold, Chinese first:

* `check-network.sh` (Linux PCs, POSIX sh) and `check-network.ps1` + `run-check.cmd` (Windows PowerShell
  5.1, nothing to install): address -> local gateway -> the centre -> a real DNS lookup -> the portal and
  business systems, stopping at the first failure with a code (E01..E05) that tells a line fault (E03) from
  a server fault (E05), and saving a result file to send to the centre;
* `使用说明-README.txt`: how to run them and what the codes mean;
* for a village router, `day0/`: its configuration from the build and the console steps to load it.

See docs/kits.md.
"""

from __future__ import annotations

from countynet.intent.models import DeviceIntent
from countynet.outputs.kits import posix, powershell
from countynet.outputs.kits.common import E01_TOOL, ERRORS, Centre, Site, centre_of, sites_of
from countynet.outputs.kits.day0 import day0_files

__all__ = [
    "E01_TOOL",
    "ERRORS",
    "Centre",
    "Site",
    "bootstrap_files",
    "centre_of",
    "sites_of",
    "township_script",
]


def township_script(township: str, name_zh: str, switch: DeviceIntent, portal: str,
                    services: list[tuple[str, str, int]], dns: str, domain: str, gateway: str = "") -> str:
    """The POSIX check for one township switch's LANs (kept for callers that pass the parts by hand)."""
    site = next((s for s in sites_of({switch.hostname: switch}) if s.kind == "township"), None)
    nets = site.nets if site else ()
    gws = site.gateways if site else ()
    return posix.script(Site(township, switch.hostname, name_zh, "township", "leased", nets, gws),
                        Centre(gateway or portal, dns, f"portal.{domain}", portal, tuple(services)))


def _readme(site: Site) -> str:
    where = ("乡镇交换机的任一办公端口 any office port of the township switch" if site.kind == "township"
             else "村路由器的任一局域网口 any LAN port of the village router")
    return (f"{site.title} 网络自检 / network self-check\n\n"
            f"1. 用网线把电脑接到{where.split(' ', 1)[0]}。 Plug a PC into {where.split(' ', 1)[1]}.\n"
            "2. Windows 电脑：双击 run-check.cmd（或在 PowerShell 中运行 "
            "powershell -NoProfile -ExecutionPolicy Bypass -File check-network.ps1）。\n"
            "   Windows: double-click run-check.cmd. Linux: open a terminal and run: sh check-network.sh\n"
            "3. 全部显示“通过 OK”即网络正常；若显示“失败 FAILED”，按提示处理，或致电县信息中心并报错误编号。\n"
            "   All 'OK': the network works. 'FAILED': do what it says, or call the centre with the error code.\n"
            "4. 结果文件 check-result-*.txt（Windows 在桌面，Linux 在当前目录）请发给县信息中心。\n"
            "   Send the result file check-result-*.txt (Windows: on the desktop; Linux: the current folder) "
            "to the centre.\n\n"
            "错误编号 Error codes:\n" + "".join(f"  {c}: {zh} / {en}\n" for c, zh, en, _ in ERRORS)
            + f"  E01: {E01_TOOL[0]} / {E01_TOOL[1]}\n"
            "E03 与 E05 的区别 E03 vs E05: E03 = 连不上中心（线路故障）the centre does not answer (line fault); "
            "E05 = 中心网关通但系统打不开（服务器故障）the centre answers but a system does not (server fault).\n")


def bootstrap_files(intents: dict[str, DeviceIntent], prefix: str = "bootstrap",
                    configs: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """Every township's and village's kit, keyed by path under the build; with `configs` (the rendered
    configurations by host) a village kit also carries its router's day-0 files. {} without a portal."""
    centre = centre_of(intents)
    if centre is None:
        return {}
    out: dict[str, str] = {}
    for site in sites_of(intents):
        base = f"{prefix}/{site.key}"
        out[f"{base}/check-network.sh"] = posix.script(site, centre)
        out[f"{base}/check-network.ps1"] = powershell.script(site, centre)
        out[f"{base}/run-check.cmd"] = powershell.run_cmd()
        out[f"{base}/使用说明-README.txt"] = _readme(site)
        if site.kind == "village" and configs:
            out.update(day0_files(intents[site.host], configs.get(site.host, {}), base))
    return out
