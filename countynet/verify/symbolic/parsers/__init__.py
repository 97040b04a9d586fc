"""Parsers from the rendered configurations in `build/configs/` (what deploy pushes) back into the engine's
filters, one module per family: Huawei VRP (`huawei`), H3C Comware (`comware`), Cisco IOS-XE (`cisco`) and
Linux nftables (`nftables`).

Each parser reads every ACL line exactly (action, protocol, prefixes, port ranges, TCP flags, ICMP type) and
refuses, with the file and line, any construct it does not model (a wildcard that is not a prefix, an unknown
keyword): a line it cannot read is an error, never a skipped line. They share no code with the policy compiler
or the renderer: a renderer bug shows up as a difference, not as the same mistake twice.
"""

from __future__ import annotations

from countynet.verify.symbolic.parsers import cisco, comware, huawei, nftables
from countynet.verify.symbolic.parsers.common import Binding, DeviceConfig, ParseError


def parse_device(hostname: str, platform: str, files: dict[str, str]) -> DeviceConfig:
    """The filtering state of a device from its rendered files (relative path -> text) for its platform family
    (`huawei_vrp`, `h3c_comware`, `cisco_ios`, `linux`); raises ParseError on a line it cannot read."""
    if platform == "linux":
        return nftables.parse(hostname, files)
    parser = {"huawei_vrp": huawei.parse, "h3c_comware": comware.parse, "cisco_ios": cisco.parse}.get(platform)
    if parser is None:
        raise ParseError(hostname, 0, f"no parser for platform {platform}")
    cfg = [p for p in files if p.endswith(".cfg")]
    if len(cfg) != 1:
        raise ParseError(hostname, 0, f"expected one .cfg file, found {sorted(files)}")
    return parser(hostname, cfg[0], files[cfg[0]])


__all__ = ["Binding", "DeviceConfig", "ParseError", "parse_device"]
