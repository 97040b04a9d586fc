"""The one-way pipeline: load -> validate -> allocate -> intent -> render -> inventories -> write.

Each step is a pure function of the previous step's output; only `write_build` touches the disk, and it
writes the whole build directory atomically (and the lock file) or nothing at all.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from countynet.errors import Collector, TopologyError
from countynet.fileio import StagedDir
from countynet.intent import build_intents
from countynet.intent.models import DeviceIntent
from countynet.ipam import lock as lockfile
from countynet.outputs.result import BuildResult
from countynet.topology.loader import load

__all__ = ["BuildResult", "compile_topology", "device_changes", "gc_paused", "intent_yaml", "keep_reports",
           "read_manifest", "render", "write_build"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a build phase.

    A build allocates hundreds of thousands of small acyclic objects (intents, ACL lines) that reference
    counting frees anyway; the collector's repeated scans of them cost 15-20 % of the build."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def compile_topology(root: Path) -> BuildResult:
    """Validate and allocate; build every device's intent. Raises TopologyError on bad input."""
    with gc_paused():
        return _compile(root)


def _compile(root: Path) -> BuildResult:
    topo = load(root)
    from countynet.intent.policy import numbering

    old, diags = lockfile.read(topo.root)
    acl_numbers, acl_diags = numbering.read(topo.root)  # the ACL number lock: a bad one stops the build too
    if diags or acl_diags:
        col = Collector("validate")
        col.extend([*diags, *acl_diags])
        col.raise_if_errors()
    intents, new, internal = build_intents(topo, old)
    from countynet.intent.policy.compile import apply_policy

    intents, renumbered = apply_policy(intents, topo.policy, internal, numbers=acl_numbers)
    if acl_numbers.errors:
        raise TopologyError("acl numbers", acl_numbers.errors)
    from countynet.intent.address_audit import audit_addresses

    problems = audit_addresses(intents)  # every build: no clash, network/broadcast or VRRP address in use
    if problems:
        raise TopologyError("address audit", problems)
    return BuildResult(topo, intents, new, old, warnings=[*topo.warnings, *renumbered],
                       internal=[str(n) for n in internal], acl_lock=acl_numbers.new, old_acl_lock=acl_numbers.old)


def render(result: BuildResult) -> BuildResult:
    """Render every device's files; a capability error is reported at the catalog line that chose the
    device's platform flavour (the topology line that asked for it), not at the platform data file."""
    from countynet.render.engine import CapabilityError, render_all

    try:
        with gc_paused():
            result.configs = render_all(result.intents)
    except CapabilityError as exc:
        topo = result.topology
        raise TopologyError(exc.phase, [
            topo.diag("catalog", ["hardware", result.intents[diag.path].model, "flavour"], diag.message, diag.hint)
            for diag in exc.diagnostics]) from None
    return result


def intent_yaml(d: DeviceIntent) -> str:
    from countynet.outputs.fastyaml import dump

    return dump(d.model_dump(mode="json", exclude_defaults=True))


def write_build(result: BuildResult, out: Path, write_lock: bool = True, inventory_dir: Path | None = None
                ) -> dict[str, Any]:
    """Write build/ and inventory/ atomically, and the lock file; return the manifest.

    The build holds every device's intent and configs, the inventories, and the derived files (docs, Batfish
    snapshot, township kits, the policy data verify and the lab read); `manifest.json` lists each file's
    sha256, each device's selection facts and the fingerprints of the topology it was built from (see
    `countynet.outputs.manifest`). The inventories are also kept at the top level (`inventory/`, beside
    `topology/`) so that Nornir and Ansible users point at a stable, committed path and reviewers see
    inventory changes as diffs.
    """
    from countynet import platforms
    from countynet.outputs.inventories import ansible_inventory, nornir_inventory
    from countynet.outputs.manifest import MANIFEST, make_manifest, manifest_text, source_fingerprints

    if not result.extra:
        from countynet.outputs.derived import derived_files

        result.extra = derived_files(result)
    files: dict[str, str] = {}
    for host, d in result.intents.items():
        files[f"intent/{host}.yaml"] = intent_yaml(d)
    for host, cfgs in result.configs.items():
        for name, text in cfgs.items():
            files[f"configs/{host}/{name}"] = text
    files.update(nornir_inventory(result.intents))
    files.update(ansible_inventory(result.intents))
    files.update(result.extra)
    hosts = {host: {"role": d.role, "platform": d.platform, "os": d.os, "model": d.model,
                    "township": d.township, "unit": d.unit, "site": d.site, "wave": d.wave,
                    "management": d.management.address, "device_type": platforms.flavour(d.flavour).tools.netmiko}
             for host, d in result.intents.items()}
    sources = source_fingerprints(result.topology.root, lockfile.dump(result.lock))
    acl_text = None
    if write_lock:  # the ACL number lock as this build leaves it (without write_lock the file stays as it is)
        from countynet.intent.policy import numbering
        from countynet.outputs.manifest import sha256

        acl_text = numbering.dump(result.acl_lock)
        sources[numbering.LOCK_NAME] = sha256(acl_text)
    manifest = make_manifest(result.topology.county.county.name, files, hosts, sources)
    files[MANIFEST] = manifest_text(manifest)
    inv_dir = inventory_dir or result.topology.root.parent / "inventory"
    with StagedDir(out) as stage, StagedDir(inv_dir) as inv:
        for rel, text in files.items():
            stage.write(rel, text)
            if rel.startswith("inventory/"):
                inv.write(rel.removeprefix("inventory/"), text)
        keep_reports(out, stage.tmp)
        stage.commit()
        inv.commit()
    if write_lock:
        from countynet.intent.policy import numbering

        lockfile.write(result.topology.root, result.lock)
        numbering.write(result.topology.root, result.acl_lock, acl_text)
    return manifest


# Written into <build>/reports/ by verify, review and the lab, not by build: a rebuild carries them over.
REPORTS = "reports"


def keep_reports(out: Path, staged: Path) -> None:
    """Carry the old build's `reports/` (which build did not write) into the staged build."""
    import shutil

    old = out / REPORTS
    if old.is_dir() and not old.is_symlink():
        shutil.copytree(old, staged / REPORTS, symlinks=True)


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of the build in `out` before it is replaced, or None (no build, or unreadable)."""
    import json

    from countynet.outputs.manifest import MANIFEST

    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def device_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, list[str]]:
    """Which devices a build changed against the previous build's manifest: `added`, `removed`, `changed`
    (a rendered config file differs) and `intent_only` (the intent differs, the configs do not). With no
    previous manifest every device is `added`."""
    before: dict[str, Any] = (old or {}).get("hosts") or {}
    after: dict[str, Any] = new.get("hosts") or {}

    def split(files: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        cfg = {k: v for k, v in files.items() if k.startswith("configs/")}
        return cfg, {k: v for k, v in files.items() if not k.startswith("configs/")}

    changed, intent_only = [], []
    for h in sorted(set(before) & set(after)):
        cb, ib = split(before[h].get("files") or {})
        ca, ia = split(after[h].get("files") or {})
        if cb != ca:
            changed.append(h)
        elif ib != ia:
            intent_only.append(h)
    return {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
            "changed": changed, "intent_only": intent_only}
