"""Round-trip parser for Huawei VRP configurations (VRP5 and VRP8 print the same structure).

The rendered text is read back with TTP templates written here, independently of the Jinja templates,
and turned into :class:`~countynet.render.roundtrip.Facts` the way the device itself would read it: VLAN
ranges are expanded, an interface's OSPF area comes from the `network` statement that covers its
address, an aggregate member belongs to the aggregate its `eth-trunk N` names. The intent is used only
to pick the file. The helpers here are shared with the H3C Comware parser, whose syntax is a sibling.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from ttp import ttp

from countynet import platforms
from countynet.intent.models import DeviceIntent
from countynet.render.roundtrip import Facts, IfFacts
from countynet.topology.ranges import expand_ints


def ttp_bgp_and_acls(acl_header: str) -> str:
    """The BGP and advanced-ACL groups, worded the same on VRP and Comware except the ACL header."""
    return f"""
<group name="bgp">
bgp {{{{ asn | DIGIT }}}}
<group name="peers">
 peer {{{{ address | IP }}}} as-number {{{{ remote_as | DIGIT }}}}
</group>
#{{{{ _end_ }}}}
</group>

<group name="acls">
{acl_header} {{{{ number | DIGIT }}}}
 description {{{{ name | ORPHRASE }}}}
<group name="rules">
 rule {{{{ seq | DIGIT }}}} {{{{ action | re("ACTION") }}}} {{{{ rest | ORPHRASE }}}}
</group>
#{{{{ _end_ }}}}
</group>
"""


# The OSPF process, its areas and network statements: the same words on VRP and Comware.
TTP_OSPF = """<group name="ospf">
ospf {{ process | DIGIT }} router-id {{ router_id | IP }}
<group name="areas">
 area {{ area | IP }}
<group name="networks">
  network {{ net | IP }} {{ wildcard | IP }}
</group>
</group>
#{{ _end_ }}
</group>
"""

TEMPLATE = """
<vars>
ACTION = "permit|deny"
</vars>

<group name="hostname">
sysname {{ hostname }}
#{{ _end_ }}
</group>

<group name="vlan_batch">
vlan batch {{ spec | ORPHRASE }}
#{{ _end_ }}
</group>

<group name="vlan">
vlan {{ id | DIGIT }}
#{{ _end_ }}
</group>

<group name="interfaces">
interface {{ name }}
 ip address {{ ip | IP }} {{ mask | IP }}
 port default vlan {{ access_vlan | DIGIT }}
 port trunk allow-pass vlan {{ trunk | ORPHRASE | joinmatches(" ") }}
 eth-trunk {{ lag_id | DIGIT }}
#{{ _end_ }}
</group>

""" + TTP_OSPF + """
<group name="static">
ip route-static {{ net | IP }} {{ mask | IP }} {{ rest | ORPHRASE }}
#{{ _end_ }}
</group>

""" + ttp_bgp_and_acls("acl number")

def as_list(value: Any) -> list[dict[str, Any]]:
    """TTP gives a dict for one match and a list for several."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def run_ttp(text: str, template: str) -> dict[str, Any]:
    parser = ttp(data=text, template=template)
    parser.parse()
    result = parser.result()[0]
    return result[0] if isinstance(result, list) and result else (result or {})


def prefix(addr: str, mask: str) -> ipaddress.IPv4Network:
    """Network from an address and a dotted netmask or a length (VRP and Comware accept both).

    Stricter than :mod:`ipaddress`, which would also take a wildcard (host mask) here: a device rejects
    `ip address 10.0.0.1 0.0.0.3`, so does this parser (ValueError)."""
    if mask.isdigit():
        return ipaddress.IPv4Network(f"{addr}/{mask}", strict=False)
    bits = int(ipaddress.IPv4Address(mask))
    length = bin(bits).count("1")
    if bits != (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF:
        raise ValueError(f"{mask} is not a netmask")
    return ipaddress.IPv4Network(f"{addr}/{length}", strict=False)


def pick_file(files: dict[str, str], d: DeviceIntent) -> str:
    """The device's configuration file: `<hostname>.cfg`, or the only file rendered."""
    name = f"{d.hostname}.cfg"
    if name in files:
        return files[name]
    if len(files) == 1:
        return next(iter(files.values()))
    raise KeyError(f"no {name} among {sorted(files)}")


def ospf_areas(raw: dict[str, Any], interfaces: dict[str, IfFacts]) -> dict[str, str]:
    """Interface -> area, as the router decides: a `network A W` statement enables OSPF on every
    interface whose primary address equals A on the bits W leaves fixed; where several match, the most
    specific (fewest wildcard bits) wins."""
    nets: list[tuple[int, int, str]] = []  # (address bits, wildcard bits, area)
    for proc in as_list(raw.get("ospf")):
        for area in as_list(proc.get("areas")):
            for n in as_list(area.get("networks")):
                nets.append((int(ipaddress.IPv4Address(n["net"])), int(ipaddress.IPv4Address(n["wildcard"])),
                             area["area"]))
    out: dict[str, str] = {}
    for name, itf in interfaces.items():
        if not itf.address:
            continue
        addr = int(ipaddress.IPv4Interface(itf.address).ip)
        covering = [(bin(wc).count("1"), area) for net, wc, area in nets if (addr ^ net) & ~wc & 0xFFFFFFFF == 0]
        if covering:
            out[name] = min(covering)[1]
    return out


def build_facts(raw: dict[str, Any], lag_name: Callable[[str], str], filter_numbers: tuple[int, int]) -> Facts:
    """Facts from a parse result of the shared shape (both vendors' templates produce it); only the ACLs numbered
    within `filter_numbers` (the platform registry's compiled-filter range) count as compiled filters."""
    f = Facts()
    host = as_list(raw.get("hostname"))
    f.hostname = host[0]["hostname"] if host else ""
    for b in as_list(raw.get("vlan_batch")):
        f.vlans |= expand_ints(b["spec"])
    for v in as_list(raw.get("vlan")):
        f.vlans.add(int(v["id"]))
    for i in as_list(raw.get("interfaces")):
        itf = IfFacts()
        if "ip" in i:
            itf.address = f"{i['ip']}/{prefix(i['ip'], i['mask']).prefixlen}"
        if "access_vlan" in i:
            itf.access_vlan = int(i["access_vlan"])
        if "trunk" in i:
            itf.trunk_vlans = expand_ints(i["trunk"])
        if "lag_id" in i:
            itf.lag = lag_name(i["lag_id"])
        f.interfaces[i["name"]] = itf
    f.ospf_interfaces = ospf_areas(raw, f.interfaces)
    f.static_routes = {str(prefix(r["net"], r["mask"])) for r in as_list(raw.get("static"))}
    for b in as_list(raw.get("bgp")):
        for p in as_list(b.get("peers")):
            f.bgp_neighbors[p["address"]] = int(p["remote_as"])
    for acl in as_list(raw.get("acls")):
        if filter_numbers[0] <= int(acl["number"]) <= filter_numbers[1]:
            f.acl_rules[acl.get("name", acl["number"])] = len(as_list(acl.get("rules")))
    return f


def parse(files: dict[str, str], d: DeviceIntent) -> Facts:
    return build_facts(run_ttp(pick_file(files, d), TEMPLATE), lambda n: f"Eth-Trunk{n}",
                       platforms.flavour(d.flavour).acl.filter_numbers)
