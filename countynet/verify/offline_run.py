"""`verify --offline`: the exhaustive check of a build directory, and what changes between two builds.

Everything comes from the build: the rendered configurations (`configs/`, parsed back per platform), the zones
(`policy/zones.json`), the rules in force (`policy/rules.json`) and the probe matrix (`policy/flows.json`), each
file checked against `manifest.json` before it is read. The probe flows get verdicts from the same exhaustive
sets (so Batfish and the lab can be compared flow by flow); the proof itself covers every packet between every
pair of endpoints (`countynet.verify.exhaustive`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from countynet.outputs.build_reader import BuildError, BuildReader
from countynet.outputs.flows import FLOWS_FILE, Finding, Verdict
from countynet.outputs.policy_data import RULES_FILE, ZONES_FILE
from countynet.outputs.reports import verdict_data
from countynet.verify.exhaustive import Checker, ModelError
from countynet.verify.symbolic import Engine

READS = [ZONES_FILE, RULES_FILE, FLOWS_FILE]


@dataclass
class Report:
    """The offline verdicts of the probe flows, the findings, and what the exhaustive check proved."""

    verdicts: list[Verdict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)
    proven: dict[str, Any] = field(default_factory=dict)
    unproven: list[str] = field(default_factory=list)
    checker: Checker | None = None  # the exhaustive sets, for drawing the lab's probes

    @property
    def ok(self) -> bool:
        return not self.findings


def check_inputs(build: BuildReader) -> None:
    """Refuse (BuildError) unless every file the offline check reads, and every intent the configurations were
    rendered from, matches the manifest (a hand-edited intent means the build no longer says one thing)."""
    build.check(READS, ["configs/", "intent/"])


def checker(build: BuildReader, engine: Engine | None = None) -> Checker:
    """The exhaustive checker of a build; a configuration it cannot read exactly is a BuildError."""
    check_inputs(build)
    try:
        return Checker(build, engine)
    except ModelError as exc:
        raise BuildError(build.dir, f"a rendered configuration cannot be read exactly: {exc}",
                         hint="fix the renderer or the hand edit; the verifier refuses what it cannot model") from None


def run_offline(build: BuildReader) -> Report:
    """The offline check of a build: every packet between every pair of endpoints, and the probe flows."""
    c = checker(build)
    res = c.run(build.flows())
    return Report(res.verdicts, res.findings, res.differences, res.proven, res.unproven, c)


def offline_diff(build: BuildReader, reference: BuildReader) -> list[dict[str, str]]:
    """Every region of admitted traffic added or removed against `reference` (per source and destination
    zone, summarised), then devices added, removed or moved (site or role changed)."""
    engine = Engine()
    now, before = checker(build, engine), checker(reference, engine)
    now.run()
    before.run()
    out: list[dict[str, str]] = []
    zones = sorted({ep.zone for ep in now.eps} | {ep.zone for ep in before.eps})

    def by_zone(c: Checker) -> dict[str, Any]:
        acc: dict[str, Any] = {}
        for ep in c.eps:
            acc[ep.zone] = acc.get(ep.zone, engine.false) | c.may[id(ep)]
        return acc

    a, b = by_zone(before), by_zone(now)
    dst = {z: engine.false for z in zones}
    for c in (now, before):
        for ep in c.eps:
            dst[ep.zone] = dst[ep.zone] | c.ep_space[id(ep)]
    for sz in zones:
        old, new = a.get(sz, engine.false), b.get(sz, engine.false)
        for change, d in (("added", new & ~old), ("removed", old & ~new)):
            if d == engine.false:
                continue
            for dz in zones:
                part = d & dst[dz]
                if part == engine.false:
                    continue
                checker_ = now if change == "added" else before
                pkt = engine.example(part)
                regions = engine.summarise(part)
                out.append({"change": change, "from": sz, "to": dz, "packets": str(engine.count(part)),
                            "example": str(pkt), "rule": checker_.policy.rule_of(pkt) or "none",
                            "regions": "; ".join(str(r) for r in regions[:20])
                                       + (f" (+{len(regions) - 20} more)" if len(regions) > 20 else "")})
    for name in sorted(set(build.hosts) | set(reference.hosts)):
        x, y = reference.hosts.get(name), build.hosts.get(name)
        if x is None or y is None:
            out.append({"change": "device added" if x is None else "device removed", "from": name, "to": "",
                        "packets": "", "example": "", "rule": "",
                        "regions": f"{(y or x or {}).get('role', '')} at {(y or x or {}).get('site', '')}"})
        elif (x.get("site"), x.get("role")) != (y.get("site"), y.get("role")):
            out.append({"change": "device moved", "from": name, "to": "", "packets": "", "example": "", "rule": "",
                        "regions": f"{x.get('role')} at {x.get('site')} -> {y.get('role')} at {y.get('site')}"})
    return out


DIFF_COLUMNS = ["change", "from", "to", "packets", "example", "rule", "regions"]


def report_data(rep: Report) -> dict[str, Any]:
    """The offline report in the shared shape (`countynet.outputs.reports.verdict_data`), with the proof."""
    return verdict_data("offline", rep.verdicts, rep.findings,
                        {"exhaustive": {"proven": rep.proven, "unproven": rep.unproven,
                                        "differences": rep.differences}})


def default_reports_dir(build_dir: Path) -> Path:
    return build_dir / "reports"
