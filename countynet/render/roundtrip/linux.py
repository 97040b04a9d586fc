"""Round-trip parser for rendered Linux configurations (TTP templates, independent of Jinja).

Reads `/etc/hostname`, `/etc/network/interfaces` (ifupdown stanzas: addresses, bond membership, bridges
and their VLAN sub-interfaces, `gateway` and `up ip route` lines), `/etc/frr/frr.conf` (OSPF interface
areas, static routes, BGP neighbours) and `/etc/nftables.conf` (rules of the `acl_<filter>` chains).
Linux objects map back to intent notions the way the templates document it: a bridge `br<v>` is VLAN v
(its address is the SVI's), a port in it is an access port, `<port>.<v>` in it makes `<port>` a trunk.
The intent is never read here: the file names are fixed for the platform.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from countynet.intent.models import DeviceIntent
from countynet.render.roundtrip import Facts, IfFacts
from countynet.render.roundtrip.cisco_ios import as_list, run_ttp

INTERFACES = """
<group name="ifaces">
iface {{ name }} inet {{ method }}
    address {{ address }}
    gateway {{ gateway }}
    bond-master {{ bond_master }}
    vlan-raw-device {{ raw_device }}
    bridge-ports {{ ports | ORPHRASE }}
    up ip route replace {{ routes | ORPHRASE | joinmatches }}
    pre-up ip link add {{ link_add }} link {{ link_parent }} {{ link_rest | ORPHRASE }}
</group>

<group name="declared_vlans">
# vlan {{ id | to_int }} {{ rest | ORPHRASE }}
</group>
"""

FRR = """
<group name="ifs">
interface {{ name }}
 ip ospf area {{ area }}
</group>

<group name="routes">
ip route {{ prefix }} {{ rest | ORPHRASE }}
</group>

<group name="bgp">
router bgp {{ asn | to_int }}
  <group name="neighbors">
 neighbor {{ address }} remote-as {{ remote_as | to_int }}
  </group>
</group>
"""

NFT = """
<group name="chains">
\tchain acl_{{ name }} {{ brace }}
\t\t{{ rules | _line_ | contains("comment \\"seq") | joinmatches }}
\t}{{ _end_ }}
</group>
"""

PREFIX = re.compile(r"^(?:blackhole\s+)?(\d+\.\d+\.\d+\.\d+(?:/\d+)?)")


def _interfaces(text: str, facts: Facts) -> None:
    res = run_ttp(text, INTERFACES)
    stanzas: dict[str, dict[str, Any]] = {}
    for s in as_list(res.get("ifaces")):  # several stanzas of one interface (lo) merge
        stanzas.setdefault(s["name"], {}).update(s)
    for v in as_list(res.get("declared_vlans")):
        facts.vlans.add(v["id"])
    for name, s in stanzas.items():
        for line in str(s.get("routes", "")).splitlines():
            m = PREFIX.match(line.strip())
            if m:
                facts.static_routes.add(str(ipaddress.IPv4Network(m.group(1))))
        if "gateway" in s:
            facts.static_routes.add("0.0.0.0/0")
        if "raw_device" in s or "link_add" in s:
            continue  # VLAN sub-interface or VRRP macvlan: a means, not an intent interface
        bridge = re.fullmatch(r"br(\d+)", name) if "ports" in s else None
        if bridge:
            vid = int(bridge.group(1))
            facts.vlans.add(vid)
            for port in s["ports"].split():
                if port == "none":
                    continue
                base, dot, sub = port.rpartition(".")
                if dot and sub.isdigit():
                    facts.interfaces.setdefault(base, IfFacts()).trunk_vlans.add(int(sub))
                else:
                    facts.interfaces.setdefault(port, IfFacts()).access_vlan = vid
            if "address" not in s:
                continue
        if name == "lo" and "address" not in s:
            continue  # the system loopback without a router address
        itf = facts.interfaces.setdefault(name, IfFacts())
        if "address" in s:
            itf.address = str(ipaddress.IPv4Interface(s["address"]))
        itf.lag = s.get("bond_master")


def _frr(text: str, facts: Facts) -> None:
    res = run_ttp(text, FRR)
    for i in as_list(res.get("ifs")):
        if "area" in i:
            facts.ospf_interfaces[i["name"]] = str(ipaddress.IPv4Address(
                int(i["area"]) if i["area"].isdigit() else i["area"]))
    for r in as_list(res.get("routes")):
        facts.static_routes.add(str(ipaddress.IPv4Network(r["prefix"])))
    for b in as_list(res.get("bgp")):
        for n in as_list(b.get("neighbors")):
            facts.bgp_neighbors[n["address"]] = n["remote_as"]


def _nft(text: str, facts: Facts) -> None:
    res = run_ttp(text, NFT)
    for c in as_list(res.get("chains")):
        facts.acl_rules[c["name"]] = len(str(c.get("rules", "")).splitlines())


def parse(files: dict[str, str], d: DeviceIntent) -> Facts:
    del d  # Linux file names are fixed; nothing is taken from the intent
    facts = Facts(hostname=files.get("etc/hostname", "").strip())
    _interfaces(files.get("etc/network/interfaces", ""), facts)
    _frr(files.get("etc/frr/frr.conf", ""), facts)
    _nft(files.get("etc/nftables.conf", ""), facts)
    return facts
