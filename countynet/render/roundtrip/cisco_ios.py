"""Round-trip parser for rendered Cisco IOS-XE configurations (TTP templates, independent of Jinja).

The TTP templates below read the configuration text the way an engineer reads `show running-config`:
interface blocks, `vlan` blocks, `ip route`, `router bgp` neighbours and extended ACLs. The intent is
used only to find the device's file (``<hostname>.cfg``); every fact comes from the text.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ttp import ttp

from countynet.intent.models import DeviceIntent
from countynet.render.roundtrip import Facts, IfFacts
from countynet.topology.ranges import expand_ints

TEMPLATE = """
<group name="hostname">
hostname {{ hostname }}
</group>

<group name="interfaces">
interface {{ name }}
 ip address {{ ip }} {{ mask }}
 switchport access vlan {{ access_vlan | to_int }}
 switchport trunk allowed vlan {{ trunk_vlans }}
 channel-group {{ lag_id | to_int }} mode {{ lag_mode }}
 ip ospf {{ ospf_process }} area {{ ospf_area }}
!{{ _end_ }}
</group>

<group name="vlans">
vlan {{ id | to_int }}
</group>

<group name="static">
ip route {{ network }} {{ mask }} {{ rest | ORPHRASE }}
</group>

<group name="bgp">
router bgp {{ asn | to_int }}
  <group name="neighbors">
 neighbor {{ address }} remote-as {{ remote_as | to_int }}
  </group>
!{{ _end_ }}
</group>

<group name="acls">
ip access-list extended {{ name }}
  <group name="rules">
 {{ seq | DIGIT }} {{ action }} {{ rest | ORPHRASE }}
  </group>
!{{ _end_ }}
</group>

<group name="standard_acls">
ip access-list standard {{ name }}
  <group name="rules">
 {{ seq | DIGIT }} {{ action }} {{ rest | ORPHRASE }}
  </group>
!{{ _end_ }}
</group>
"""


def as_list(value: Any) -> list[dict[str, Any]]:
    """TTP gives a dict for one match and a list for several."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def run_ttp(text: str, template: str) -> dict[str, Any]:
    """Parse `text` with a one-input TTP template; {} for an empty text."""
    if not text.strip():
        return {}
    parser = ttp(data=text, template=template)
    parser.parse()
    res = parser.result()
    first = res[0][0] if res and res[0] else {}
    return first if isinstance(first, dict) else {}


def parse_text(text: str) -> Facts:
    res = run_ttp(text, TEMPLATE)
    facts = Facts()
    for h in as_list(res.get("hostname")):
        facts.hostname = h["hostname"]
    for blk in as_list(res.get("interfaces")):
        itf = IfFacts()
        if "ip" in blk:
            itf.address = str(ipaddress.IPv4Interface(f"{blk['ip']}/{blk['mask']}"))
        if "lag_id" in blk:  # a channel member: its switchport lines only mirror the port-channel's
            itf.lag = f"Port-channel{blk['lag_id']}"
        else:
            itf.access_vlan = blk.get("access_vlan")
            if "trunk_vlans" in blk:
                itf.trunk_vlans = expand_ints(blk["trunk_vlans"])
        facts.interfaces[blk["name"]] = itf
        if "ospf_area" in blk:
            facts.ospf_interfaces[blk["name"]] = str(ipaddress.IPv4Address(
                int(blk["ospf_area"]) if blk["ospf_area"].isdigit() else blk["ospf_area"]))
    facts.vlans = {v["id"] for v in as_list(res.get("vlans"))}
    facts.static_routes = {str(ipaddress.IPv4Network(f"{r['network']}/{r['mask']}"))
                           for r in as_list(res.get("static"))}
    for b in as_list(res.get("bgp")):
        for n in as_list(b.get("neighbors")):
            facts.bgp_neighbors[n["address"]] = n["remote_as"]
    for acl in as_list(res.get("acls")):  # standard ACLs (management, NAT) are no filters
        facts.acl_rules[acl["name"]] = len([r for r in as_list(acl.get("rules"))
                                            if r["action"] in ("permit", "deny")])
    return facts


def parse(files: dict[str, str], d: DeviceIntent) -> Facts:
    return parse_text(files.get(f"{d.hostname}.cfg", ""))
