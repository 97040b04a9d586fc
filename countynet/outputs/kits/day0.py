"""Day-0 for a new village router: its configuration from the build and the console steps, Chinese first.

Zero-touch files are not generated: the AR161 (Huawei USB deployment / DHCP Auto-Config) and the MSR810
(H3C automatic configuration) do support zero-touch, but the evidence register (docs/vendor-evidence.yaml)
holds no verified file format for either, and a wrong index file fails silently on site. The console path
below needs nothing but the cable, and the steps stop the factory auto-configuration first so it cannot
overwrite what is pasted.
"""

from __future__ import annotations

import re

from countynet.intent.models import DeviceIntent

SECRET = re.compile(r"\$\{secret:([a-z0-9][a-z0-9_.-]*)\}")

_SERIAL = ("1. 用配置线（RJ45 转 USB/串口）连接路由器的 CONSOLE 口和笔记本电脑；"
           "终端软件（PuTTY、SecureCRT、Xshell）设为 "
           "9600 波特、8 数据位、无校验、1 停止位、无流控。\n"
           "   Connect the console cable (RJ45 to USB/serial) to the router's CONSOLE port; set the terminal "
           "(PuTTY, SecureCRT, Xshell) to 9600 bit/s, 8 data bits, no parity, 1 stop bit, no flow control.\n")

_VENDOR = {
    "huawei_vrp": (
        "2. 接通电源。若提示 “Auto-Config is working ... stop Auto-Config? [y/n]”，输入 y 回车（停止自动配置）。\n"
        "   Power on. When asked 'Auto-Config is working ... stop Auto-Config? [y/n]', answer y.\n"
        "3. 用出厂账号登录，按提示设置新密码。 Log in with the factory account and set a new password when asked.\n"
        "4. 输入 system-view 回车，提示符变为 [Huawei]。 Type system-view; the prompt becomes [Huawei].\n"
        "5. 分段粘贴配置文件 {cfg}（每次约 40 行，等回显结束再贴下一段；"
        "SecureCRT 可用“发送文本文件”并设行间延时 50 毫秒）。\n"
        "   Paste {cfg} in parts of about 40 lines, waiting for the echo to finish (or send it as a text "
        "file with a 50 ms line delay).\n"
        "6. 输入 return 回车，再输入 save 回车，提示时输入 y。 Type return, then save, and answer y.\n"
        "7. 检查 Check: display current-configuration | include sysname  (应显示 shows {host});"
        " display ip interface brief  (上联口 up / the uplink is up).\n"),
    "h3c_comware": (
        "2. 接通电源。若提示 “Automatic configuration is running, press CTRL_C or CTRL_D to break”，按 Ctrl+C"
        "（停止自动配置）。\n"
        "   Power on. When 'Automatic configuration is running, press CTRL_C or CTRL_D to break' shows, "
        "press Ctrl+C.\n"
        "3. 按回车进入 <H3C> 提示符（出厂时 console 口无密码）。 Press Enter for the <H3C> prompt.\n"
        "4. 输入 system-view 回车，提示符变为 [H3C]。 Type system-view; the prompt becomes [H3C].\n"
        "5. 分段粘贴配置文件 {cfg}（每次约 40 行，等回显结束再贴下一段）。\n"
        "   Paste {cfg} in parts of about 40 lines, waiting for the echo to finish.\n"
        "6. 输入 return 回车，再输入 save force 回车。 Type return, then save force.\n"
        "7. 检查 Check: display current-configuration | include sysname  (应显示 shows {host});"
        " display ip interface brief  (上联口 UP / the uplink is UP).\n"),
}


def day0_files(d: DeviceIntent, configs: dict[str, str], base: str) -> dict[str, str]:
    """`<base>/day0/<config>` (the build's configuration, unchanged) and the console steps for one village
    router; {} when the platform has no console steps here."""
    steps = _VENDOR.get(d.platform)
    if steps is None or not configs:
        return {}
    out = {f"{base}/day0/{name}": text for name, text in sorted(configs.items())}
    cfg = next(iter(sorted(configs)))
    secrets = sorted({m for text in configs.values() for m in SECRET.findall(text)})
    sec = ("\n".join(f"   - ${{secret:{s}}}" for s in secrets) if secrets else "   (none)")
    out[f"{base}/day0/console-steps-控制台步骤.txt"] = (
        f"{d.site_name} 新村路由器首次配置 / day-0 configuration of the new village router {d.hostname}\n"
        f"型号 model: {d.vendor} {d.model} ({d.platform} {d.os}); 管理地址 management address: "
        f"{d.management.address}\n\n"
        "0. 配置文件中的密钥占位符须由县信息中心先填好（countynet deploy 在推送时填写），"
        "文件中仍有 ${secret: 时不得加载：\n"
        "   The centre fills the secret placeholders first (countynet deploy resolves them at push time); "
        "never load the file while it still contains ${secret:\n"
        f"{sec}\n"
        + _SERIAL + steps.format(cfg=cfg, host=d.hostname)
        + "8. 在村里的电脑上运行 check-network（见上一级目录），结果文件发给县信息中心。\n"
          "   Run check-network on a village PC (one folder up) and send the result file to the centre.\n"
          "零接触部署 Zero-touch: 本型号支持（华为 USB/DHCP 自动配置，H3C 自动配置），但厂商文件格式未经核实，"
          "本工具不生成；请用以上控制台步骤。\n"
          "   The model supports zero-touch (Huawei USB/DHCP Auto-Config, H3C automatic configuration), but "
          "its file format is not verified in the evidence register, so no zero-touch files are generated; "
          "use the console steps above.\n")
    return out
