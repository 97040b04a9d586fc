"""`verify --offline`: the offline policy check on a build directory, and the flows two builds disagree on.

Everything comes from the build: every device's intent (`intent/`), the zones (`policy/zones.json`) and the
probe matrix (`policy/flows.json`), each file checked against `manifest.json` before it is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from countynet.outputs.build_reader import BuildReader
from countynet.outputs.flows import FLOWS_FILE
from countynet.outputs.policy_data import ZONES_FILE
from countynet.outputs.reports import verdict_data
from countynet.verify.evaluator import Evaluator, Report, verify

READS = [ZONES_FILE, FLOWS_FILE]


def check_inputs(build: BuildReader) -> None:
    """Refuse (BuildError) unless every file the offline check reads matches the manifest."""
    build.check(READS, ["intent/"])


def run_offline(build: BuildReader) -> Report:
    """The offline check of a build: every flow of its matrix against its compiled filters and routes."""
    check_inputs(build)
    return verify(build.intents(), build.zone_map(), build.flows())


def offline_diff(build: BuildReader, reference: BuildReader) -> list[dict[str, str]]:
    """Flows (of either build's probe matrix) whose observed fate differs between the two builds."""
    check_inputs(build)
    check_inputs(reference)
    flows = {f.key(): f for f in [*reference.flows(), *build.flows()]}
    now = Evaluator(build.intents(), build.zone_map())
    before = Evaluator(reference.intents(), reference.zone_map())
    out = []
    for key, f in sorted(flows.items()):
        a, b = before.verdict(f).observed, now.verdict(f).observed
        if a != b:
            out.append({"flow": key, "rule": f.rule, "before": a, "after": b})
    return out


def report_data(rep: Report) -> dict[str, Any]:
    """The offline report in the shared shape (`countynet.outputs.reports.verdict_data`)."""
    return verdict_data("offline", rep.verdicts, rep.findings)


def default_reports_dir(build_dir: Path) -> Path:
    return build_dir / "reports"
