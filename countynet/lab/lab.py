"""Lab orchestration: open the build, pick the scope, plan, bring it up; and the checks done before.

The lab never compiles the topology: it emulates the intents `countynet build` wrote (each file checked
against the build's manifest), so it tests exactly what build produced and what deploy would push.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from countynet.intent.models import DeviceIntent
from countynet.lab import packages
from countynet.lab import scope as scopemod
from countynet.lab.down import down
from countynet.lab.plan import LabPlan, build
from countynet.lab.sh import LabError
from countynet.lab.state import LabState
from countynet.lab.up import Builder, build_lab, kernel_has_esp
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.flows import FLOWS_FILE

DEFAULT_LAB_DIR = Path("lab-run")
DEFAULT_BUILD = Path("build")


class NotRoot(LabError):
    """The lab needs root (namespaces, veths, daemons)."""


def preflight() -> None:
    if os.geteuid() != 0:
        raise NotRoot("the lab needs root (network namespaces, veth pairs, FRR/strongSwan/sshd): run it as root")
    miss = packages.missing()
    if miss:
        raise LabError(f"missing packages: {' '.join(miss)} - install with `python -m countynet.lab.packages`")


def select(reader: BuildReader, scope: str | None) -> tuple[dict[str, DeviceIntent], set[str]]:
    """The scope's hostnames (from the manifest's host table) and their intents, each intent file checked
    against the manifest (raises ScopeError / BuildError). Without a scope, the default demo scope plus the
    centre servers the probe matrix targets."""
    hosts = scopemod.lab_hosts(reader.hosts, scope, reader.flows)
    reader.check([f"intent/{h}.yaml" for h in sorted(hosts)])
    return reader.intents(sorted(hosts)), hosts


def plan_for(reader: BuildReader, scope: str | None, kernel_esp: bool) -> LabPlan:
    intents, hosts = select(reader, scope)
    return build(intents, hosts, kernel_esp)


def up(reader: BuildReader, scope: str | None, lab_dir: Path,
       log: Callable[[str], None] = lambda s: None) -> tuple[LabState, Builder]:
    """Bring up the scope of the build `reader` opened; every object created is recorded in lab_dir first."""
    preflight()
    intents, hosts = select(reader, scope)  # bad input fails here, before anything is created
    reader.check([FLOWS_FILE])  # `lab test` probes these flows
    lab_dir = lab_dir.resolve()
    lab_dir.mkdir(parents=True, exist_ok=True)
    old = LabState.load(lab_dir)
    if old is not None and old.status != "down":
        raise LabError(f"a lab is already recorded in {lab_dir} (status {old.status}): run `lab down` first")
    t0 = time.monotonic()
    state = LabState(str(lab_dir), scope=scope or scopemod.DEFAULT_SCOPE)
    state.info["build"] = str(reader.dir.resolve())
    state.save()
    esp = kernel_has_esp(state)
    log(f"kernel ESP: {'yes (kernel XFRM)' if esp else 'no (strongSwan kernel-libipsec, ESP in UDP)'}")
    plan = build(intents, hosts, esp)
    log(f"scope: {len(plan.devices)} devices, {len(plan.namespaces)} namespaces, {len(plan.veths)} veth pairs, "
        f"{len(plan.bridges)} bridges, {len(plan.probes)} probe hosts")
    try:
        b = build_lab(plan, lab_dir, state, log, {h: str(f["role"]) for h, f in reader.hosts.items()},
                      build_dir=reader.dir.resolve())
    except BaseException:
        state.status = "failed"
        state.save()
        raise
    state.status = "up"
    state.info["up_seconds"] = round(time.monotonic() - t0, 2)
    state.save()
    return state, b


__all__ = ["DEFAULT_BUILD", "DEFAULT_LAB_DIR", "NotRoot", "down", "plan_for", "preflight", "select", "up"]
