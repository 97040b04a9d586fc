"""`countynet verify`: offline, Batfish and differential checks of the security policy."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from countynet.cli.main import err, out
from countynet.errors import TopologyError


def _compile(directory: Path) -> Any:
    from countynet.outputs.pipeline import compile_topology, render

    return render(compile_topology(directory))


def _ref_topology(directory: Path, ref: str, tmp: Path) -> Path:
    """The topology directory as it is at git REF, extracted into tmp."""
    repo = subprocess.run(["git", "-C", str(directory), "rev-parse", "--show-toplevel"], capture_output=True,
                          text=True)
    if repo.returncode != 0:
        raise typer.BadParameter(f"{directory} is not inside a git checkout, so --against cannot read {ref}")
    top = Path(repo.stdout.strip())
    rel = directory.resolve().relative_to(top)
    arch = subprocess.run(["git", "-C", str(top), "archive", ref, str(rel)], capture_output=True)
    if arch.returncode != 0:
        raise typer.BadParameter(f"cannot read {rel} at {ref}: {arch.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=arch.stdout, check=True)
    return tmp / rel


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        directory: Annotated[Path, typer.Argument(help="topology directory")] = Path("topology"),
        offline: Annotated[bool, typer.Option("--offline", help="check the compiled filters and routes here")] = False,
        batfish: Annotated[str | None, typer.Option("--batfish", help="Batfish server host (or BATFISH_HOST)")] = None,
        against: Annotated[str | None, typer.Option("--against", help="git ref to diff reachability against")] = None,
        reports: Annotated[Path, typer.Option("--reports", help="where JSON/Markdown reports go")] = Path(
            "build/reports"),
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    ) -> None:
        """Prove the network does what the policy says and nothing more. Exit 0 clean, 1 violations, 2 cannot run."""
        from countynet.cli.main import fail
        from countynet.verify.offline_run import offline_diff, report_data, run_offline
        from countynet.verify.report import print_table, write_reports

        host = batfish or (os.environ.get("BATFISH_HOST") if not offline else None)
        if batfish is None and not offline and not host:
            offline = True
        checks = None
        if host:  # ask the server first: no point compiling for minutes if nobody will answer
            from countynet.verify.batfish_run import START_HINT, BatfishChecks, BatfishUnavailable

            try:
                checks = BatfishChecks(host)
            except BatfishUnavailable as exc:
                err.print(f"verify --batfish: cannot run: {exc}.\n    fix: {START_HINT}", markup=False)
                raise typer.Exit(2) from None
        try:
            result = _compile(directory)
        except TopologyError as exc:
            fail(exc, as_json)
        status = 0
        rep = run_offline(result)
        data, rows = report_data(rep)
        if offline or not host:
            write_reports(reports, "verify-offline", data, rows, ["kind", "device", "message"],
                          "countynet verify --offline")
            if as_json:
                import json

                print(json.dumps(data, indent=1, ensure_ascii=False, default=str))
            else:
                s = data["summary"]
                out.print(f"offline: {s['flows checked']} flows ({s['allowed']} allowed, {s['denied']} denied), "
                          f"{s['findings']} finding(s); reports in {reports}/verify-offline.(json|md)")
                if rows:
                    print_table(out, "offline policy findings", rows, ["kind", "device", "message"])
            if not rep.ok:
                status = 1
            if against and not host:
                with tempfile.TemporaryDirectory() as tmp:
                    try:
                        ref = _compile(_ref_topology(directory, against, Path(tmp)))
                    except TopologyError as exc:
                        fail(exc, as_json)
                    changes = offline_diff(result, ref)
                    write_reports(reports, "verify-diff-offline", {"result": f"{len(changes)} change(s)",
                                                                    "against": against, "changes": changes},
                                  changes, ["flow", "rule", "before", "after"], f"flows that change against {against}")
                    print_table(out, f"flows that change against {against} (offline)", changes,
                                ["flow", "rule", "before", "after"])
        if checks is not None:
            status = max(status, _batfish(result, rep, checks, against, directory, reports, as_json))
        raise typer.Exit(status)


def _batfish(result: Any, offline_rep: Any, checks: Any, against: str | None, directory: Path, reports: Path,
             as_json: bool) -> int:
    import ipaddress

    from countynet.intent.policy.zones import zone_map
    from countynet.verify.batfish_run import start_location
    from countynet.verify.report import print_table, write_reports

    with tempfile.TemporaryDirectory() as tmp:
        name = checks.load(_write_snapshot(result, Path(tmp) / "candidate"), "candidate")
        external = {n.address for d in result.intents.values() if d.routing.bgp for n in d.routing.bgp.neighbors}
        findings = checks.session_checks(name, external)
        zm = zone_map(result.intents, result.topology.policy, [ipaddress.IPv4Network(p) for p in result.internal])
        rows = []
        for v in offline_rep.verdicts:
            f = v.flow
            observed = checks.flow_verdict(name, f, start_location(f, zm, result.intents))
            rows.append({"rule": f.rule, "flow": f.key(), "expected": f.expected, "batfish": observed,
                         "offline": v.observed, "agree": "yes" if observed == v.observed else "NO"})
            if observed != f.expected:
                findings.append(_flow_finding(f, observed))
        diffs: list[dict[str, str]] = []
        if against:
            ref = _compile(_ref_topology(directory, against, Path(tmp) / "ref-src"))
            diffs = checks.differential(name, checks.load(_write_snapshot(ref, Path(tmp) / "reference"), "reference"))
    data = {"result": "clean" if not findings else "violations",
            "summary": {"findings": len(findings), "flows": len(rows),
                        "offline/batfish disagreements": sum(r["agree"] == "NO" for r in rows),
                        "note": "Huawei/H3C/Linux devices are checked through Cisco IOS verification renderings"},
            "findings": [f.as_dict() for f in findings], "flows": rows, "differential": diffs}
    write_reports(reports, "verify-batfish", data, [f.as_dict() for f in findings], ["check", "subject", "message"],
                  "countynet verify --batfish")
    if not as_json:
        print_table(out, "Batfish findings", [f.as_dict() for f in findings], ["check", "subject", "message"])
        if diffs:
            print_table(out, f"flows that change against {against}", diffs, ["flow", "before", "after"])
    return 1 if findings else 0


def _write_snapshot(result: Any, where: Path) -> Path:
    """The build's Batfish snapshot as a directory Batfish can upload."""
    from countynet.outputs.batfish_snapshot import snapshot_files

    files, _ = snapshot_files(result.intents, result.configs)
    for rel, text in files.items():
        p = where / rel.removeprefix("batfish/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return where


def _flow_finding(f: Any, observed: str) -> Any:
    from countynet.verify.batfish_run import BfFinding

    return BfFinding("reachability", f.key(), f"{f.rule}: expected {f.expected}, Batfish says {observed}")
