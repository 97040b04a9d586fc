"""`verify --offline`: run the offline policy check on a compiled build and report."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from countynet.intent.policy.matrix import probe_matrix
from countynet.intent.policy.zones import ZoneMap, zone_map
from countynet.outputs.pipeline import BuildResult
from countynet.verify.evaluator import Evaluator, Report, verify


def _zones(result: BuildResult) -> ZoneMap:
    return zone_map(result.intents, result.topology.policy, [ipaddress.IPv4Network(p) for p in result.internal])


def run_offline(result: BuildResult) -> Report:
    return verify(result.intents, _zones(result), probe_matrix(result))


def offline_diff(result: BuildResult, reference: BuildResult) -> list[dict[str, str]]:
    """Flows (of either build's probe matrix) whose fate differs between the two builds."""
    flows = {f.key(): f for f in [*probe_matrix(reference), *probe_matrix(result)]}
    now, before = Evaluator(result.intents, _zones(result)), Evaluator(reference.intents, _zones(reference))
    out = []
    for key, f in sorted(flows.items()):
        a, b = before.verdict(f).observed, now.verdict(f).observed
        if a != b:
            out.append({"flow": key, "rule": f.rule, "before": a, "after": b})
    return out


def report_data(rep: Report) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = [{"kind": f.kind, "device": f.device, "message": f.message} for f in rep.findings]
    data = {
        "result": "clean" if rep.ok else "violations",
        "summary": {"flows checked": len(rep.verdicts),
                    "allowed": sum(v.observed == "allow" for v in rep.verdicts),
                    "denied": sum(v.observed == "deny" for v in rep.verdicts),
                    "findings": len(rep.findings)},
        "findings": [f.as_dict() for f in rep.findings],
        "flows": [{**v.flow.as_dict(), "observed": v.observed, "reason": v.reason} for v in rep.verdicts],
    }
    return data, rows


def default_reports_dir() -> Path:
    return Path("build") / "reports"
