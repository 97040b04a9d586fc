"""Writes `build/policy/` (zones, rules in force, probe flows) from a compiled build.

Kept apart from :mod:`countynet.outputs.policy_data`, the reader side, because writing needs the policy
compiler and the consumers of a build (verify, lab, deploy) must never import it.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from countynet.outputs.flows import FLOWS_FILE, Flow, expectation, flows_json
from countynet.outputs.policy_data import RULES_FILE, ZONES_FILE, _dumps, zones_data

if TYPE_CHECKING:
    from countynet.outputs.result import BuildResult


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
