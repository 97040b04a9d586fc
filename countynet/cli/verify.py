"""`countynet verify`: offline, Batfish and differential checks of the security policy, on a build directory.

verify reads `build/` (its intents, `policy/*.json` and the Batfish snapshot), never the topology: it checks
what `build` wrote. Only `--against REF` compiles, and it does so here, with the CLI's build path: the
topology at git REF is built into a temporary directory and the two build directories are compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from countynet.cli.common import err, out

BuildOpt = Annotated[Path, typer.Option("--build", help="build directory to verify (written by `countynet build`)")]
AllowOpt = Annotated[bool, typer.Option("--allow-modified",
                                        help="use build files that differ from manifest.json (hand-edited/stale)")]


def open_build(build: Path, allow_modified: bool, topology: Path | None = None) -> Any:
    """A BuildReader on `build`, or exit 2 with the reader's message (which files differ, how to fix)."""
    from countynet.outputs.build_reader import BuildError, BuildReader

    try:
        return BuildReader(build, allow_modified=allow_modified, topology=topology)
    except BuildError as exc:
        build_failed(exc)


def build_failed(exc: Any) -> None:
    err.print(f"error: {exc.render()}", markup=False, highlight=False)
    raise typer.Exit(2)


def warn_accepted(reader: Any) -> None:
    """Say which modified files --allow-modified let through."""
    if reader.accepted:
        err.print(f"warning: --allow-modified: using {len(reader.accepted)} file(s) that differ from "
                  f"{reader.dir}/manifest.json:", markup=False)
        for p in reader.accepted[:20]:
            err.print(f"    {p.render()}", markup=False, highlight=False)


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
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=arch.stdout, check=True)
    return tmp / rel


def reference_build(directory: Path, ref: str, tmp: Path, as_json: bool) -> Any:
    """Build the topology at git REF into tmp with the CLI's build path and open it."""
    from countynet.cli.common import build_into, fail
    from countynet.errors import TopologyError

    topo = _ref_topology(directory, ref, tmp / "src")
    try:
        build_into(topo, tmp / "build", write_lock=False, inventory_dir=tmp / "inventory")
    except TopologyError as exc:
        err.print(f"verify --against {ref}: the topology at {ref} does not build:", markup=False)
        fail(exc, as_json)
    return open_build(tmp / "build", False)


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        directory: Annotated[Path | None, typer.Argument(
            help="topology directory the build was made from (checked for staleness; used by --against); "
                 "default: topology/ beside the build")] = None,
        build: BuildOpt = Path("build"),
        allow_modified: AllowOpt = False,
        offline: Annotated[bool, typer.Option("--offline", help="check the compiled filters and routes here")] = False,
        batfish: Annotated[str | None, typer.Option("--batfish", help="Batfish server host (or BATFISH_HOST)")] = None,
        against: Annotated[str | None, typer.Option("--against", help="git ref to diff reachability against")] = None,
        reports: Annotated[Path | None, typer.Option("--reports", help="where JSON/Markdown reports go "
                                                     "(default: <build>/reports)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
        probes: Annotated[str | None, typer.Option(
            "--probes", help="draw the lab's probe set from the exhaustive regions for this lab scope (as `lab up "
                             "--scope`; `default` is the lab's demo scope) into <reports>/probes.json")] = None,
        per_pair: Annotated[int, typer.Option("--probes-per-pair", min=1,
                                              help="at most this many probes per endpoint pair")] = 8,
        compare: Annotated[bool, typer.Option(
            "--compare", help="write <reports>/engines.(json|md): offline, Batfish and lab verdicts side by side; "
                              "exit 1 on any disagreement")] = False,
        lab_report: Annotated[Path | None, typer.Option(
            "--lab-report", help="the lab report for --compare (default: <reports>/lab-test.json)")] = None,
    ) -> None:
        """Prove the build does what the policy says and nothing more. Exit 0 clean, 1 violations, 2 cannot run."""
        from countynet.outputs.build_reader import BuildError
        from countynet.outputs.reports import print_table, write_reports, write_verdict_report
        from countynet.verify.offline_run import offline_diff, run_offline

        host = batfish or (os.environ.get("BATFISH_HOST") if not offline else None)
        if batfish is None and not offline and not host:
            offline = True
        checks = None
        if host:  # ask the server first: no point reading the build if nobody will answer
            from countynet.verify.batfish_run import START_HINT, BatfishChecks, BatfishUnavailable

            try:
                checks = BatfishChecks(host)
            except BatfishUnavailable as exc:
                err.print(f"verify --batfish: cannot run: {exc}.\n    fix: {START_HINT}", markup=False)
                raise typer.Exit(2) from None
        reader = open_build(build, allow_modified, directory)
        reports = reports or build / "reports"
        topology = directory or build.resolve().parent / "topology"
        from countynet.outputs.probes import manifest_digest

        digest = manifest_digest(build)
        status = 0
        with tempfile.TemporaryDirectory(prefix="countynet-verify-") as tmp:
            try:
                rep = run_offline(reader)
                ref = reference_build(topology, against, Path(tmp), as_json) if against else None
                if offline or not host:
                    data, _, _ = write_verdict_report(
                        reports, "verify-offline", "countynet verify --offline (exhaustive)", "offline",
                        rep.verdicts, rep.findings,
                        {"exhaustive": {"proven": rep.proven, "unproven": rep.unproven,
                                        "differences": rep.differences}, "build_manifest": digest})
                    warn_accepted(reader)
                    if as_json:
                        print(json.dumps(data, indent=1, ensure_ascii=False, default=str))
                    else:
                        s = data["summary"]
                        p = rep.proven
                        out.print(f"offline (exhaustive): {p['endpoint pairs']} endpoint pairs, "
                                  f"{p['packets compared']:.3e} packets compared exactly, "
                                  f"{p['filter lines read back']} filter lines read back from "
                                  f"{p['devices parsed']} devices in {p['seconds']} s; "
                                  f"{len(rep.differences)} difference(s) with the policy; probe flows: "
                                  f"{s['flows']} ({s['allowed']} allowed, {s['denied']} denied, "
                                  f"{s['unproven']} unproven); reports in {reports}/verify-offline.(json|md)",
                                  markup=False, highlight=False)
                        if rep.findings:
                            print_table(out, "offline policy findings", [f.as_dict() for f in rep.findings],
                                        ["kind", "subject", "message"])
                        out.print("not proven here (未证明):", markup=False)
                        for u in rep.unproven:
                            out.print(f"  - {u}", markup=False, highlight=False)
                    if not rep.ok:
                        status = 1
                    if ref is not None and not host:
                        from countynet.verify.offline_run import DIFF_COLUMNS

                        changes = offline_diff(reader, ref)
                        write_reports(reports, "verify-diff-offline", {"result": f"{len(changes)} change(s)",
                                                                        "against": against, "changes": changes},
                                      changes, DIFF_COLUMNS, f"admitted traffic that changes against {against}")
                        if not as_json:
                            print_table(out, f"admitted traffic that changes against {against} (exhaustive)",
                                        changes, DIFF_COLUMNS)
                if probes is not None:
                    _probes(reader, rep, probes, per_pair, reports, digest, as_json)
                if checks is not None:
                    status = max(status, _batfish(reader, rep, checks, ref, against, reports, as_json, digest))
                if compare:
                    status = max(status, _compare(build, reports, lab_report, as_json))
            except BuildError as exc:
                build_failed(exc)
        raise typer.Exit(status)


def _probes(reader: Any, rep: Any, scope: str, per_pair: int, reports: Path, digest: str, as_json: bool) -> None:
    """Draw the lab's probe set for a lab scope and write it to <reports>/probes.json (exit 2 on a bad scope)."""
    from countynet.fileio import atomic_write_text
    from countynet.lab import scope as scopemod
    from countynet.outputs.probes import PROBES_FILE, probe_set_json
    from countynet.verify.probes import draw

    default = scope.strip() in ("", "default")
    try:
        hosts = scopemod.lab_hosts(reader.hosts, None if default else scope, reader.flows)
    except scopemod.ScopeError as exc:
        err.print(f"error: --probes: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    import time

    t = time.perf_counter()
    ps = draw(rep.checker, hosts, scopemod.DEFAULT_SCOPE if default else scope, digest, per_pair)
    secs = round(time.perf_counter() - t, 2)
    path = reports / PROBES_FILE
    reports.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, probe_set_json(ps))
    if not as_json:
        s = ps.summary()
        out.print(f"probe set for the lab ({len(hosts)} devices in scope): {s['endpoint pairs']} endpoint pairs, "
                  f"{s['regions']} regions ({s['regions probed']} probed, {s['regions not probed']} not: "
                  f"{s['not probed because'] or 'none'}), {s['probes']} probes ({s['inside probes']} inside, "
                  f"{s['boundary probes']} boundary, {s['counterexample probes']} counterexamples; at most "
                  f"{per_pair} per pair) in {secs} s; each proves one packet; written to {path}", markup=False,
                  highlight=False)


def _compare(build: Path, reports: Path, lab_report: Path | None, as_json: bool) -> int:
    """The three engines side by side (<reports>/engines.*); 1 on any disagreement, 2 on reports of another build."""
    from countynet.outputs.probes import ProbeSetError, compare_engines
    from countynet.outputs.reports import print_table

    lab = lab_report or (reports / "lab-test.json")
    try:
        data, js, _ = compare_engines(build, reports, reports, lab if lab.is_file() else None)
    except ProbeSetError as exc:
        err.print(f"error: --compare: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps({k: v for k, v in data.items() if k != "rows"}, indent=1, ensure_ascii=False))
    else:
        bad = [r for r in data["rows"] if r["status"] == "disagree"]
        if bad:
            print_table(out, "where the engines disagree with the policy", bad,
                        ["what", "expected", "offline", "batfish", "lab", "note"])
        s = data["summary"]
        out.print(f"engines: {s['rows']} rows, {s['agree']} agree, {s['disagree']} disagree, {s['unproven']} unproven "
                  f"(observed by offline {s['offline observed']}, Batfish {s['batfish observed']}, lab "
                  f"{s['lab observed']}); {js}", markup=False, highlight=False)
    return 1 if data["result"] == "disagreement" else 0


def _batfish(reader: Any, offline_rep: Any, checks: Any, ref: Any, against: str | None, reports: Path,
             as_json: bool, digest: str = "") -> int:
    from countynet.outputs.reports import print_table, write_verdict_report
    from countynet.verify.batfish_run import run_batfish

    verdicts, findings, diffs = run_batfish(reader, checks, offline_rep.verdicts, ref)
    disagree = sum(b.observed != o.observed for b, o in zip(verdicts, offline_rep.verdicts, strict=True))
    probe_data: dict[str, Any] = {}
    from countynet.outputs.probes import PROBES_FILE

    ppath = reports / PROBES_FILE
    if ppath.is_file():  # the probe set drawn for the lab: Batfish's word on the same packets
        from countynet.outputs.flows import mismatch_finding
        from countynet.outputs.probes import ProbeSetError, read_probe_set
        from countynet.verify.batfish_run import batfish_probes

        try:
            ps = read_probe_set(ppath, reader.dir)
        except ProbeSetError as exc:
            err.print(f"warning: Batfish skips the probe set: {exc}", markup=False)
        else:
            pv = batfish_probes(reader, checks, "candidate", ps.probes)
            findings += [mismatch_finding(v, "Batfish") for v in pv if v.status == "mismatch"]
            probe_data = {"probes": [v.as_dict() for v in pv]}
    data, _, _ = write_verdict_report(
        reports, "verify-batfish", "countynet verify --batfish", "batfish", verdicts, findings,
        {"note": "Huawei/H3C/Linux devices are checked through Cisco IOS verification renderings",
         "build_manifest": digest, **probe_data,
         "offline/batfish disagreements": disagree, "differential": diffs, "against": against})
    warn_accepted(reader)
    if as_json:
        print(json.dumps(data, indent=1, ensure_ascii=False, default=str))
    else:
        print_table(out, "Batfish findings", [f.as_dict() for f in findings], ["kind", "subject", "message"])
        if diffs:
            print_table(out, f"flows that change against {against}", diffs, ["flow", "before", "after"])
    return 1 if findings else 0
