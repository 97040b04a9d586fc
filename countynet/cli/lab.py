"""`countynet lab up|status|test|down`: the emulated network on this machine (needs root).

The lab emulates a build directory (`--build`, default `build/`): the intents and probe matrix that
`countynet build` wrote, each file checked against the build's manifest. It never compiles the topology.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from countynet.lab import api, converge, probe
from countynet.lab import lab as labmod
from countynet.lab.scope import ScopeError
from countynet.lab.sh import LabError
from countynet.lab.state import LabState, alive
from countynet.outputs.build_reader import BuildError, BuildReader
from countynet.outputs.probes import PROBES_FILE, ProbeSetError, compare_engines, manifest_digest, read_probe_set
from countynet.outputs.reports import print_verdicts

app = typer.Typer(help="Emulated county network: one Linux namespace per device (FRR, nftables, strongSwan, sshd).",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)

LabDirOpt = typer.Option(labmod.DEFAULT_LAB_DIR, "--lab-dir", help="where the lab keeps everything (gitignored)")
AllowOpt = typer.Option(False, "--allow-modified", help="use build files that differ from manifest.json")


def _fail(msg: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code)


def _root() -> None:
    try:
        labmod.preflight()
    except labmod.NotRoot as exc:
        _fail(str(exc), 2)
    except LabError as exc:
        _fail(str(exc), 2)


def _open(build: Path, allow_modified: bool) -> BuildReader:
    try:
        reader = BuildReader(build, allow_modified=allow_modified)
    except BuildError as exc:
        _fail(exc.render())
        raise  # unreachable: _fail exits
    return reader


def _accepted(reader: BuildReader) -> None:
    for p in reader.accepted[:20]:
        err.print(f"[yellow]warning:[/yellow] --allow-modified: {p.render()}", highlight=False)


@app.command()
def up(build: Path = typer.Option(labmod.DEFAULT_BUILD, "--build", help="build directory to emulate"),
       allow_modified: bool = AllowOpt,
       scope: str = typer.Option(None, "--scope", help="all | centre | core | servers | township:<id> | "
                                 "unit:<id> | device:<host>, comma-separated; default: the demo scope"),
       lab_dir: Path = LabDirOpt,
       wait: bool = typer.Option(True, help="wait for OSPF/BGP/IPsec convergence")) -> None:
    """Bring the lab up from a build directory."""
    _root()
    reader = _open(build, allow_modified)
    try:
        state, b = labmod.up(reader, scope, lab_dir, log=console.print)
    except (ScopeError, BuildError) as exc:
        _fail(exc.render() if isinstance(exc, BuildError) else str(exc))
        return
    except LabError as exc:
        _fail(f"{exc}\n(partial lab recorded in {lab_dir}: run `countynet lab down`)", 1)
        return
    _accepted(reader)
    for w in b.warnings[:20]:
        console.print(f"[yellow]warning:[/yellow] {w}")
    console.print(f"lab up in {state.info.get('up_seconds')}s: {len(b.devs)} devices, "
                  f"{len(state.namespaces)} namespaces, {len(state.procs)} processes (state: {state.path})")
    if wait:
        c = converge.wait(lab_dir.resolve())
        api.record_convergence(lab_dir.resolve(), c)
        console.print(converge.summary(c))
        if not c.ok:
            raise typer.Exit(1)


@app.command()
def status(lab_dir: Path = LabDirOpt) -> None:
    """What the state file records, and what of it is still alive."""
    st = LabState.load(lab_dir.resolve())
    if st is None:
        console.print(f"no lab in {lab_dir}")
        return
    daemons = [p for p in st.procs if p.what != "frr:launcher"]
    live = sum(1 for p in daemons if alive(p))
    console.print(f"lab {st.lab_dir}: status {st.status}, scope {st.scope}")
    console.print(f"  namespaces {len(st.namespaces)}, host links {len(st.host_links)}, "
                  f"processes {live}/{len(daemons)} alive")
    inv_path = lab_dir.resolve() / "lab.json"
    if st.status == "up" and inv_path.exists():
        inv = json.loads(inv_path.read_text())
        t = Table("device", "namespace", "mgmt", "role")
        for h, d in sorted(inv["devices"].items()):
            t.add_row(h, d["namespace"], d["mgmt"], d["role"])
        console.print(t)
        console.print(f"ssh: ssh -i {inv['ssh']['key']} -o UserKnownHostsFile={inv['ssh']['known_hosts']} "
                      f"{inv['ssh']['username']}@<mgmt>")


@app.command()
def test(build: Path = typer.Option(None, "--build", help="build directory whose probe matrix to test "
                                    "(default: the one `lab up` emulated)"),
         allow_modified: bool = AllowOpt,
         lab_dir: Path = LabDirOpt,
         timeout: float = typer.Option(90, help="seconds to wait for convergence"),
         report_dir: Path = typer.Option(None, help="where the reports go (default <lab-dir>/reports)"),
         probes: Path = typer.Option(None, "--probes", help="the probe set `verify --offline --probes` drew "
                                     "(default <build>/reports/probes.json, when present)"),
         verify_reports: Path = typer.Option(None, "--verify-reports", help="where verify wrote its reports, for "
                                             "the three-engine table (default <build>/reports)")) -> None:
    """Wait for convergence, probe the policy matrix and the probe set with real traffic, compare the three
    engines; exit 1 on any mismatch or disagreement."""
    _root()
    lab = lab_dir.resolve()
    st = LabState.load(lab)
    if st is None or st.status != "up":
        _fail(f"no running lab in {lab_dir}: run `countynet lab up` first")
        return
    c = converge.wait(lab, timeout)
    api.record_convergence(lab, c)
    console.print(converge.summary(c))
    inv = json.loads((lab / "lab.json").read_text())
    reader = _open(build or Path(inv.get("build") or labmod.DEFAULT_BUILD), allow_modified)
    try:
        flows, source = probe.load_flows(reader)
    except BuildError as exc:
        _fail(exc.render())
        return
    _accepted(reader)
    vdir = verify_reports or reader.dir / "reports"
    pset = None
    ppath = probes or vdir / PROBES_FILE
    if probes is not None or ppath.is_file():
        try:
            pset = read_probe_set(ppath, reader.dir)
        except ProbeSetError as exc:
            if probes is not None:  # asked for: refuse
                _fail(str(exc))
            # found beside an older build: say so and test the matrix alone
            err.print(f"[yellow]warning:[/yellow] probe set not used: {exc}", highlight=False)
    results, secs = probe.timed(probe.run_probes, lab, flows)
    print_verdicts(console, f"matrix: {source}", results)
    extra: dict[str, object] = {"convergence": {"ok": c.ok, "seconds": c.seconds, "missing": c.missing},
                                "probe_seconds": secs, "build_manifest": manifest_digest(reader.dir)}
    bad = [r for r in results if r.status in ("mismatch", "error")]
    if pset is not None:
        got, psecs = probe.timed(probe.run_probe_set, lab, pset.probes)
        extra["probes"] = [v.as_dict() for v in got]
        lab_counts = {s: sum(v.status == s for v in got) for s in ("ok", "mismatch", "unproven", "error")}
        extra["probe set"] = {"file": str(ppath), **pset.summary(), "seconds": psecs, "lab": lab_counts}
        pbad = [v for v in got if v.status in ("mismatch", "error")]
        bad += pbad
        if pbad:
            print_verdicts(console, "probes the lab sees otherwise than the policy", pbad)
        console.print(f"probe set: {len(got)} probes in {psecs}s: {lab_counts} (each proves one "
                      "packet)")
    else:
        console.print(f"no probe set at {ppath}: run `countynet verify --offline --probes` to draw one")
    out_dir = report_dir or lab / "reports"
    js, md = probe.write_reports(results, out_dir, source, extra)
    console.print(f"{len(results)} flows in {secs}s: {len(bad)} mismatches or errors; reports {js} {md}")
    disagree = False
    try:
        data, ejs, _ = compare_engines(reader.dir, vdir, out_dir, js, (ppath, pset) if pset is not None else None)
        s = data["summary"]
        disagree = data["result"] == "disagreement"
        console.print(f"engines: {s['agree']} agree, {s['disagree']} disagree, {s['unproven']} unproven of "
                      f"{s['rows']} rows; {ejs}")
    except ProbeSetError as exc:
        err.print(f"[yellow]warning:[/yellow] no three-engine table: {exc}", highlight=False)
    if bad or disagree or not c.ok:
        raise typer.Exit(1)


@app.command()
def down(lab_dir: Path = LabDirOpt) -> None:
    """Remove every namespace, link and process the lab recorded (idempotent)."""
    if labmod.os.geteuid() != 0:
        _fail("the lab needs root to remove namespaces and processes")
    n = api.down(lab_dir)
    console.print(f"removed {n['processes']} processes, {n['namespaces']} namespaces, {n['links']} host links")


if __name__ == "__main__":
    app()
