"""What the consumers of a build need from the policy, written into `build/policy/` and read back from it.

* `policy/zones.json`: every security zone with its kind, member subnets (and the gateway interface of each),
  summary prefixes and, for the city, the prefixes accepted over BGP; plus the county's internal aggregates;
* `policy/rules.json`: the rules in force when the build ran (expired ones dropped), each service expanded to
  protocol and port range;
* `policy/flows.json`: the probe matrix (see :mod:`countynet.outputs.flows`).

`verify` and the lab read these files instead of compiling the topology again, so they check exactly what
`build` compiled.
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any

from countynet.intent.policy.zones import Member, ZoneMap
from countynet.outputs.flows import FLOWS_FILE, Flow, expectation, flows_json

if TYPE_CHECKING:
    from countynet.outputs.result import BuildResult

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


def policy_files(result: BuildResult) -> dict[str, str]:
    """`policy/zones.json`, `policy/rules.json` and `policy/flows.json` for a compiled build."""
    from countynet.intent.policy.compile import Compiler, _ports
    from countynet.intent.policy.matrix import Matrix

    policy = result.topology.policy
    internal = [ipaddress.IPv4Network(p) for p in result.internal]
    comp = Compiler(result.intents, policy, internal)
    flows = [Flow(rule=f.rule, src_zone=f.src_zone, dst_zone=f.dst_zone, src_device=f.src_device,
                  src_address=f.src_address, dst_device=f.dst_device, dst_address=f.dst_address,
                  protocol=f.protocol, port=f.port, expected=expectation(f.expected))
             for f in Matrix(result.intents, policy, comp).flows()]
    rules = []
    for r in comp.rules:
        rules.append({"name": r.name, "from": list(r.source), "to": list(r.destination),
                      "services": list(r.services),
                      "ports": [{"protocol": p, "low": lo, "high": hi} for p, lo, hi in _ports(policy, r.services)],
                      "destination_hosts": list(r.destination_hosts),
                      "scope": r.scope.model_dump(mode="json") if r.scope else None,
                      "owner": r.owner, "reason": r.reason,
                      "expires": r.expires.isoformat() if r.expires else None})
    descriptions = {name: z.description for name, z in policy.zones.items()}
    return {ZONES_FILE: _dumps(zones_data(comp.zm, descriptions)),
            RULES_FILE: _dumps({"default_action": policy.default_action, "rules": rules}),
            FLOWS_FILE: flows_json(flows)}
