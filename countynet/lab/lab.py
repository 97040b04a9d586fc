"""Lab orchestration: compile the topology, pick the scope, plan, build; and the checks done before."""

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

DEFAULT_LAB_DIR = Path("lab-run")


class NotRoot(LabError):
    """The lab needs root (namespaces, veths, daemons)."""


def preflight() -> None:
    if os.geteuid() != 0:
        raise NotRoot("the lab needs root (network namespaces, veth pairs, FRR/strongSwan/sshd): run it as root")
    miss = packages.missing()
    if miss:
        raise LabError(f"missing packages: {' '.join(miss)} - install with `python -m countynet.lab.packages`")


def select(topology: Path, scope: str | None) -> tuple[dict[str, DeviceIntent], set[str]]:
    """Compile the topology and pick the scope's hostnames (raises ScopeError / TopologyError)."""
    from countynet.outputs.pipeline import compile_topology

    result = compile_topology(topology)
    hosts = scopemod.select(result.intents, scope)
    if not scope:
        hosts |= scopemod.probe_servers(result)
    return result.intents, hosts


def plan_for(topology: Path, scope: str | None, kernel_esp: bool) -> LabPlan:
    intents, hosts = select(topology, scope)
    return build(intents, hosts, kernel_esp)


def up(topology: Path, scope: str | None, lab_dir: Path,
       log: Callable[[str], None] = lambda s: None) -> tuple[LabState, Builder]:
    preflight()
    intents, hosts = select(topology, scope)  # bad input fails here, before anything is created
    lab_dir = lab_dir.resolve()
    lab_dir.mkdir(parents=True, exist_ok=True)
    old = LabState.load(lab_dir)
    if old is not None and old.status != "down":
        raise LabError(f"a lab is already recorded in {lab_dir} (status {old.status}): run `lab down` first")
    t0 = time.monotonic()
    state = LabState(str(lab_dir), scope=scope or scopemod.DEFAULT_SCOPE)
    state.save()
    esp = kernel_has_esp(state)
    log(f"kernel ESP: {'yes (kernel XFRM)' if esp else 'no (strongSwan kernel-libipsec, ESP in UDP)'}")
    plan = build(intents, hosts, esp)
    log(f"scope: {len(plan.devices)} devices, {len(plan.namespaces)} namespaces, {len(plan.veths)} veth pairs, "
        f"{len(plan.bridges)} bridges, {len(plan.probes)} probe hosts")
    try:
        b = build_lab(plan, lab_dir, state, log, {h: d.role for h, d in intents.items()})
    except BaseException:
        state.status = "failed"
        state.save()
        raise
    state.status = "up"
    state.info["up_seconds"] = round(time.monotonic() - t0, 2)
    state.save()
    return state, b


__all__ = ["DEFAULT_LAB_DIR", "NotRoot", "down", "plan_for", "preflight", "up"]
