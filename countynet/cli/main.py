"""The `countynet` command line.

Human output uses rich; `--json` gives machine output. Exit status: 0 success, 1 checks found violations,
2 bad input or cannot run. No input ever produces a Python traceback: errors are reported as
`file:line:column: what is wrong` with a fix (set COUNTYNET_DEBUG=1 to see internals of a real bug).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from countynet.cli.common import build_into, err, fail, fail_unsafe, out
from countynet.errors import TopologyError

__all__ = ["app", "build_into", "err", "fail", "main", "mount", "out"]

app = typer.Typer(help="countynet: the Yongxin e-government network as code.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
DirArg = Annotated[Path, typer.Argument(help="topology directory")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _warn(result: Any, as_json: bool) -> None:
    if not as_json:
        for w in result.warnings:
            err.print(w.render(), markup=False, highlight=False)


@app.command()
def validate(directory: DirArg = Path("topology"),
             locked: Annotated[bool, typer.Option("--locked", help="fail if the lock file would change")] = False,
             as_json: JsonOpt = False) -> None:
    """Check the topology: schema, references, addressing. Writes nothing."""
    from countynet.intent.policy.numbering import changes as acl_lock_changes
    from countynet.ipam.lockdiff import lock_changes
    from countynet.outputs.pipeline import compile_topology, render

    try:
        result = render(compile_topology(directory))
    except TopologyError as exc:
        fail(exc, as_json)
    _warn(result, as_json)
    changes = lock_changes(result.old_lock, result.lock)
    acl_changes = acl_lock_changes(result.old_acl_lock, result.acl_lock)
    ok = not (locked and (changes or acl_changes))
    if as_json:
        print(json.dumps({"ok": ok, "devices": len(result.intents), "lock_changes": changes,
                          "acl_lock_changes": acl_changes,
                          "warnings": [w.as_dict() for w in result.warnings]}, ensure_ascii=False, indent=1))
    elif ok:
        out.print(f"[green]valid[/]: {len(result.intents)} devices"
                  + (f"; the lock would change in {len(changes)} place(s) (run `countynet build`)" if changes
                     else "; lock file up to date")
                  + (f"; the ACL number lock would change in {len(acl_changes)} place(s)" if acl_changes else ""))
    elif not changes:
        _acl_lock_stale(directory, acl_changes)
    else:
        _lock_stale(directory, "addresses.lock.yaml", "the lock file", changes)
        if acl_changes:
            _acl_lock_stale(directory, acl_changes)
    if not ok:
        raise typer.Exit(2)


def _acl_lock_stale(directory: Path, changes: list[str]) -> None:
    _lock_stale(directory, "acl-numbers.lock.yaml", "the ACL number lock", changes)


def _lock_stale(directory: Path, name: str, what: str, changes: list[str]) -> None:
    """Print that lock file `name` is out of date: its first 50 changes and the fix."""
    err.print(f"{directory}/{name}: error: {what} is out of date ({len(changes)} change(s)):", markup=False)
    for line in changes[:50]:
        err.print(f"    {line}", markup=False, highlight=False)
    if len(changes) > 50:
        err.print(f"    ... and {len(changes) - 50} more", markup=False)
    err.print(f"    fix: run `countynet build` and commit topology/{name} with your change", markup=False)


@app.command()
def build(directory: DirArg = Path("topology"),
          out_dir: Annotated[Path, typer.Option("--out", help="build output directory")] = Path("build"),
          as_json: JsonOpt = False) -> None:
    """Validate, allocate, build intent, render configs, inventories, policy data and the manifest."""
    from countynet.fileio import UnsafeOutput
    from countynet.intent.policy.numbering import changes as acl_lock_changes
    from countynet.ipam.lockdiff import lock_changes
    from countynet.outputs.pipeline import device_changes, read_manifest

    t0 = time.perf_counter()
    previous = read_manifest(out_dir)  # before the build replaces it: which devices does this build change?
    try:
        result, manifest = build_into(directory, out_dir)
    except TopologyError as exc:
        fail(exc, as_json)
    except UnsafeOutput as exc:
        fail_unsafe(exc)
    _warn(result, as_json)
    changes = lock_changes(result.old_lock, result.lock)
    acl_changes = acl_lock_changes(result.old_acl_lock, result.acl_lock)
    secs = time.perf_counter() - t0
    devices = device_changes(previous, manifest)
    if as_json:
        print(json.dumps({"ok": True, "devices": manifest["devices"], "out": str(out_dir),
                          "lock_changes": changes, "acl_lock_changes": acl_changes, "seconds": round(secs, 3),
                          "device_changes": devices,
                          "changed": bool(changes or acl_changes or any(devices.values()))}, indent=1))
        return
    by_platform: dict[str, int] = {}
    for h in manifest["hosts"].values():
        by_platform[h["platform"]] = by_platform.get(h["platform"], 0) + 1
    table = Table(title=f"countynet build -> {out_dir}/ ({secs:.2f} s)")
    table.add_column("platform")
    table.add_column("devices", justify="right")
    for p, n in sorted(by_platform.items()):
        table.add_row(p, str(n))
    table.add_row("[bold]total", f"[bold]{manifest['devices']}")
    out.print(table)
    out.print(f"lock file: {len(changes)} change(s)" if changes else "lock file: unchanged")
    out.print(f"ACL number lock: {len(acl_changes)} change(s)" if acl_changes else "ACL number lock: unchanged")
    _print_device_changes(devices, previous is None)


def _print_device_changes(devices: dict[str, list[str]], first: bool) -> None:
    if first:
        out.print(f"devices: {len(devices['added'])} (no previous build to compare with)")
        return
    if not any(devices.values()):
        out.print("devices: unchanged since the previous build")
        return
    for kind, hosts in devices.items():
        if hosts:
            shown = ", ".join(hosts[:30]) + (f", ... and {len(hosts) - 30} more" if len(hosts) > 30 else "")
            out.print(f"devices {kind.replace('_', ' ')} ({len(hosts)}): {shown}", markup=False, highlight=False)


@app.command()
def schema(out_dir: Annotated[Path | None, typer.Option("--out", help="write one JSON Schema per file")] = None
           ) -> None:
    """Export JSON Schema for the topology files (for editor completion and checks)."""
    from countynet.topology.jsonschema import export

    schemas = export()
    if out_dir is None:
        print(json.dumps(schemas, indent=1, ensure_ascii=False))
        return
    from countynet.fileio import atomic_write_text

    for name, s in schemas.items():
        atomic_write_text(out_dir / f"{name}.schema.json", json.dumps(s, indent=1, ensure_ascii=False) + "\n")
    out.print(f"wrote {len(schemas)} schemas to {out_dir}/")


@app.command()
def show(name: Annotated[str, typer.Argument(help="device host name, or a site: centre, <township>, unit:<id>")],
         directory: Annotated[Path, typer.Option("--dir", help="topology directory")] = Path("topology"),
         as_json: JsonOpt = False) -> None:
    """Inspect one device (intent, addresses, links) or one site (its devices and addresses)."""
    from countynet.cli.show import show_device, show_site
    from countynet.outputs.pipeline import compile_topology

    try:
        result = compile_topology(directory)
    except TopologyError as exc:
        fail(exc, as_json)
    if name in result.intents:
        show_device(result.intents[name], out, as_json)
        return
    if not show_site(result, name, out, as_json):
        from countynet.topology.loader import did_you_mean

        hint = did_you_mean(name, list(result.intents)) or "give a device name or a site (centre, litian, unit:finance)"
        err.print(f"error: no device or site named {name!r}; {hint}", markup=False)
        raise typer.Exit(2)


@app.command("render")
def render_cmd(host: Annotated[str, typer.Argument(help="device host name")],
               directory: Annotated[Path, typer.Option("--dir", help="topology directory")] = Path("topology"),
               file: Annotated[str | None, typer.Option("--file", help="only this file of the device")] = None
               ) -> None:
    """Print one device's rendered configuration."""
    from countynet.outputs.pipeline import compile_topology
    from countynet.render.engine import render_all

    try:
        result = compile_topology(directory)
        if host not in result.intents:
            from countynet.topology.loader import did_you_mean

            err.print(f"error: no device named {host!r}; {did_you_mean(host, list(result.intents))}",
                      markup=False)
            raise typer.Exit(2)
        files = render_all({host: result.intents[host]})[host]
    except TopologyError as exc:
        fail(exc, False)
    for name, text in files.items():
        if file and name != file:
            continue
        if len(files) > 1 and not file:
            print(f"### {name}")
        sys.stdout.write(text)


LAB_COMMANDS = {"lab"}
DEPLOY_COMMANDS = {"deploy", "rollback"}
VERIFY_COMMANDS = {"verify"}
REVIEW_COMMANDS = {"review"}


def mount(argv: list[str] | None = None) -> None:
    """Add the lab, deploy, verify and review sub-commands.

    Only the one being run is imported (the deploy engine pulls in Netmiko and Nornir, the lab its
    planner), so `countynet validate` starts fast; `--help` and unknown commands mount all of them."""
    first = next((a for a in (argv or []) if not a.startswith("-")), None)
    everything = first not in LAB_COMMANDS | DEPLOY_COMMANDS | VERIFY_COMMANDS | REVIEW_COMMANDS | {
        "validate", "build", "schema", "show", "render"}
    if everything or first in LAB_COMMANDS:
        from countynet.cli.lab import app as lab_app

        app.add_typer(lab_app, name="lab", help="the emulated county network (network namespaces)")
    if everything or first in DEPLOY_COMMANDS:
        from countynet.cli.deploy import register

        register(app)
    if everything or first in VERIFY_COMMANDS:
        from countynet.cli.verify import register as register_verify

        register_verify(app)
    if everything or first in REVIEW_COMMANDS:
        from countynet.cli.review import register as register_review

        register_review(app)


def main() -> None:
    mount(sys.argv[1:])
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; nothing half-written (outputs are written atomically)")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # a bug, not bad input: say so without a traceback unless asked
        if os.environ.get("COUNTYNET_DEBUG"):
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc}\n"
                  "This is a bug in countynet, not in your input. Re-run with COUNTYNET_DEBUG=1 and report it.",
                  markup=False)
        sys.exit(3)


if __name__ == "__main__":
    main()
