"""Round-trip parser for H3C Comware 7 configurations.

Comware prints global commands with one leading space (` sysname X`, ` ip route-static ...`) and uses
its own keywords (`port access vlan`, `port trunk permit vlan`, `port link-aggregation group`,
`acl advanced`, `interface TunnelN mode ipsec`); the TTP template below reads exactly that, and the
shared helpers of the Huawei parser turn the result into facts the way the device would.
"""

from __future__ import annotations

from countynet import platforms
from countynet.intent.models import DeviceIntent
from countynet.render.roundtrip import Facts
from countynet.render.roundtrip.huawei_vrp import TTP_OSPF, build_facts, pick_file, run_ttp, ttp_bgp_and_acls

TEMPLATE = """
<vars>
ACTION = "permit|deny"
</vars>

<group name="hostname">
 sysname {{ hostname }}
#{{ _end_ }}
</group>

<group name="vlan_batch">
vlan {{ spec | ORPHRASE }}
#{{ _end_ }}
</group>

<group name="interfaces">
interface {{ name | _start_ }}
interface {{ name | _start_ }} mode {{ mode }}
 ip address {{ ip | IP }} {{ mask | IP }}
 port access vlan {{ access_vlan | DIGIT }}
 port trunk permit vlan {{ trunk | ORPHRASE | joinmatches(" ") }}
 port link-aggregation group {{ lag_id | DIGIT }}
#{{ _end_ }}
</group>

""" + TTP_OSPF + """
<group name="static">
 ip route-static {{ net | IP }} {{ mask }} {{ rest | ORPHRASE }}
#{{ _end_ }}
</group>

""" + ttp_bgp_and_acls("acl advanced")


def parse(files: dict[str, str], d: DeviceIntent) -> Facts:
    return build_facts(run_ttp(pick_file(files, d), TEMPLATE), lambda n: f"Bridge-Aggregation{n}",
                       platforms.flavour(d.flavour).acl.filter_numbers)
