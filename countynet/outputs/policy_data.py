"""What the consumers of a build need from the policy, written into `build/policy/` and read back from it.

* `policy/zones.json`: every security zone with its kind, member subnets (and the gateway interface of each),
  summary prefixes and, for the city, the prefixes accepted over BGP; plus the county's internal aggregates;
* `policy/rules.json`: the rules in force when the build ran (expired ones dropped; deny rules first, each
  with its `action`, `source_hosts` and `destination_hosts`), each service expanded to protocol and port
  range; and the plan's `invariants` with their zones resolved;
* `policy/flows.json`: the probe matrix (see :mod:`countynet.outputs.flows`).

`verify` and the lab read these files instead of compiling the topology again, so they check exactly what
`build` compiled.
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any

from countynet.intent.policy.zones import Member, ZoneMap

if TYPE_CHECKING:
    pass

ZONES_FILE = "policy/zones.json"
RULES_FILE = "policy/rules.json"


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def zones_data(zm: ZoneMap, descriptions: dict[str, str]) -> dict[str, Any]:
    """The JSON form of a zone map (members in intent order, so the file is deterministic)."""
    zones: dict[str, Any] = {}
    for name, kind in zm.kinds.items():
        zones[name] = {
            "kind": kind,
            "description": descriptions.get(name, ""),
            "prefixes": [str(n) for n in zm.prefixes(name)],
            "members": [{"prefix": str(m.prefix), "device": m.device, "interface": m.interface,
                         "township": m.township, "unit": m.unit} for m in zm.members.get(name, [])],
            "external": [str(n) for n in zm.external.get(name, [])],
        }
    return {"internal": [str(n) for n in zm.internal], "zones": zones}


def zone_map_from(data: dict[str, Any]) -> ZoneMap:
    """A ZoneMap rebuilt from `policy/zones.json`: kinds, members, external and internal prefixes (what the
    offline check and Batfish start locations use; summarising again needs the build, not this file)."""
    net = ipaddress.IPv4Network
    zones = data["zones"]
    zm = ZoneMap({name: z["kind"] for name, z in zones.items()}, internal=[net(p) for p in data["internal"]])
    for name, z in zones.items():
        if z["members"]:
            zm.members[name] = [Member(net(m["prefix"]), m["device"], m["interface"], m["township"], m["unit"])
                                for m in z["members"]]
        if z["external"]:
            zm.external[name] = [net(p) for p in z["external"]]
    return zm
