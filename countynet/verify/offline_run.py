"""`verify --offline`: run the offline policy check on a compiled build and report."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from countynet.pipeline import BuildResult
from countynet.policy.matrix import probe_matrix
from countynet.policy.offline import Report, verify
from countynet.policy.zones import zone_map


def run_offline(result: BuildResult) -> Report:
    flows = probe_matrix(result)
    zm = zone_map(result.intents, result.topology.policy, [ipaddress.IPv4Network(p) for p in result.internal])
    return verify(result.intents, zm, flows)


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
