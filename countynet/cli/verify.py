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
                                        "differences": rep.differences}})
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
                if checks is not None:
                    status = max(status, _batfish(reader, rep, checks, ref, against, reports, as_json))
            except BuildError as exc:
                build_failed(exc)
        raise typer.Exit(status)


def _batfish(reader: Any, offline_rep: Any, checks: Any, ref: Any, against: str | None, reports: Path,
             as_json: bool) -> int:
    from countynet.outputs.reports import print_table, write_verdict_report
    from countynet.verify.batfish_run import run_batfish

    verdicts, findings, diffs = run_batfish(reader, checks, offline_rep.verdicts, ref)
    disagree = sum(b.observed != o.observed for b, o in zip(verdicts, offline_rep.verdicts, strict=True))
    data, _, _ = write_verdict_report(
        reports, "verify-batfish", "countynet verify --batfish", "batfish", verdicts, findings,
        {"note": "Huawei/H3C/Linux devices are checked through Cisco IOS verification renderings",
         "offline/batfish disagreements": disagree, "differential": diffs, "against": against})
    warn_accepted(reader)
    if as_json:
        print(json.dumps(data, indent=1, ensure_ascii=False, default=str))
    else:
        print_table(out, "Batfish findings", [f.as_dict() for f in findings], ["kind", "subject", "message"])
        if diffs:
            print_table(out, f"flows that change against {against}", diffs, ["flow", "before", "after"])
    return 1 if findings else 0
