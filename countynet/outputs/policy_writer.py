"""Writes `build/policy/` (zones, rules in force, probe flows) from a compiled build.

Kept apart from :mod:`countynet.outputs.policy_data`, the reader side, because writing needs the policy
compiler and the consumers of a build (verify, lab, deploy) must never import it.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from countynet.outputs.flows import FLOWS_FILE, Flow, expectation, flows_json
from countynet.outputs.policy_data import RULES_FILE, ZONES_FILE, _dumps, zones_data

if TYPE_CHECKING:
    from countynet.outputs.result import BuildResult
    from countynet.topology.policy_models import PolicyFile


def policy_files(result: BuildResult) -> dict[str, str]:
    """`policy/zones.json`, `policy/rules.json` (rules in force, deny rules first, and the invariants) and
    `policy/flows.json` for a compiled build."""
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
    for r in [*comp.denies, *comp.rules]:  # deny rules first: they take precedence over every allow rule
        rules.append({"name": r.name, "action": r.action, "from": list(r.source), "to": list(r.destination),
                      "services": list(r.services),
                      "ports": [_port(p, lo, hi) for p, lo, hi in _ports(policy, r.services)],
                      "source_hosts": list(r.source_hosts),
                      "destination_hosts": list(r.destination_hosts),
                      "scope": r.scope.model_dump(mode="json") if r.scope else None,
                      "owner": r.owner, "reason": r.reason,
                      "expires": r.expires.isoformat() if r.expires else None})
    descriptions = {name: z.description for name, z in policy.zones.items()}
    return {ZONES_FILE: _dumps(zones_data(comp.zm, descriptions)),
            RULES_FILE: _dumps({"default_action": policy.default_action, "rules": rules,
                                "precedence": "deny rules before allow rules; then default deny",
                                "invariants": invariants_data(policy)}),
            FLOWS_FILE: flows_json(flows)}


def _port(protocol: str, lo: int | None, hi: int | None) -> dict[str, Any]:
    """A port entry of rules.json: tcp/udp with its range; icmp with its type and code (null: every)."""
    if protocol == "icmp":
        return {"protocol": protocol, "low": None, "high": None, "icmp_type": lo, "icmp_code": hi}
    return {"protocol": protocol, "low": lo, "high": hi}


def invariants_data(policy: PolicyFile) -> list[dict[str, Any]]:
    """The invariants with every side resolved: the zones each forbids traffic from and to, the port ranges
    (an empty list is every packet) and the hosts exempt as sources, for the verifier to prove."""
    from countynet.topology.checks.policy import service_ports, zones_of

    out = []
    for inv in policy.invariants:
        ports = service_ports(policy, inv.services)
        exc = inv.unless_from_hosts
        out.append({"name": inv.name, "reason": inv.reason,
                    "from": sorted(zones_of(inv.source, inv.except_from, policy)),
                    "to": sorted(zones_of(inv.destination, inv.except_to, policy)),
                    "services": inv.services if isinstance(inv.services, str) else list(inv.services),
                    "ports": [] if ports is None else [{"protocol": p, "low": None if p == "icmp" else lo,
                                                        "high": None if p == "icmp" else hi}
                                                       for p, lo, hi in ports],
                    "unless_from_hosts": {"zone": exc.zone, "hosts": list(exc.hosts)} if exc else None})
    return out
