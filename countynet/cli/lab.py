"""`countynet lab up|status|test|down`: the emulated network on this machine (needs root)."""

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

app = typer.Typer(help="Emulated county network: one Linux namespace per device (FRR, nftables, strongSwan, sshd).",
                  no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)

LabDirOpt = typer.Option(labmod.DEFAULT_LAB_DIR, "--lab-dir", help="where the lab keeps everything (gitignored)")


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


@app.command()
def up(directory: Path = typer.Argument(Path("topology"), help="topology directory"),
       scope: str = typer.Option(None, "--scope", help="all | centre | core | servers | township:<id> | "
                                 "unit:<id> | device:<host>, comma-separated; default: the demo scope"),
       lab_dir: Path = LabDirOpt,
       wait: bool = typer.Option(True, help="wait for OSPF/BGP/IPsec convergence")) -> None:
    """Bring the lab up."""
    _root()
    if not directory.is_dir():
        _fail(f"topology directory {directory} does not exist")
    try:
        state, b = labmod.up(directory, scope, lab_dir, log=console.print)
    except ScopeError as exc:
        _fail(str(exc))
        return
    except LabError as exc:
        _fail(f"{exc}\n(partial lab recorded in {lab_dir}: run `countynet lab down`)", 1)
        return
    except Exception as exc:  # a topology error from the compiler
        _fail(f"{type(exc).__name__}: {exc}", 1)
        return
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
def test(directory: Path = typer.Argument(Path("topology"), help="topology directory"),
         lab_dir: Path = LabDirOpt,
         timeout: float = typer.Option(90, help="seconds to wait for convergence"),
         report_dir: Path = typer.Option(None, help="where the reports go (default <lab-dir>/reports)")) -> None:
    """Wait for convergence, probe the policy matrix with real traffic; exit 1 on any mismatch."""
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
    flows, source = probe.load_flows(directory, inv)
    results, secs = probe.timed(probe.run_probes, lab, flows)
    t = Table("verdict", "rule", "from", "to", "service", "expected", "observed", "detail", title=f"matrix: {source}")
    colour = {"ok": "green", "MISMATCH": "red", "error": "red", "skipped": "dim"}
    for r in results:
        t.add_row(f"[{colour[r.verdict]}]{r.verdict}[/]", r.rule, f"{r.src_zone} ({r.src})",
                  f"{r.dst_zone} ({r.dst})", r.service, r.expected, r.observed, r.detail)
    console.print(t)
    js, md = probe.write_reports(results, report_dir or lab / "reports", source,
                                 {"convergence": {"ok": c.ok, "seconds": c.seconds, "missing": c.missing},
                                  "probe_seconds": secs})
    bad = [r for r in results if r.verdict in ("MISMATCH", "error")]
    console.print(f"{len(results)} flows in {secs}s: {len(bad)} mismatches; reports {js} {md}")
    if bad or not c.ok:
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
