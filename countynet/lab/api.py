"""Programmatic lab for tests (e.g. the deploy engine's): `up(scope, lab_dir, build) -> LabHandle`, `down(lab_dir)`.

    from countynet.lab import api
    lab = api.up("core,device:yx-db-1", Path("/tmp/lab"), build=Path("build"))   # a `countynet build` output
    dev = lab.devices["yx-core-1"]   # .mgmt (198.18.x.y), .namespace, .frr
    ConnectHandler(device_type="linux", host=dev.mgmt, username=lab.username, key_file=str(lab.key),
                   ssh_config_file=None, ssh_strict=True, system_host_keys=False, alt_host_keys=True,
                   alt_key_file=str(lab.known_hosts))
    api.down(lab.lab_dir)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from countynet.lab import converge
from countynet.lab import lab as labmod
from countynet.lab.down import down as _down
from countynet.outputs.build_reader import BuildReader


@dataclass(frozen=True)
class LabDevice:
    hostname: str
    namespace: str
    mgmt: str
    role: str
    frr: bool
    interfaces: dict[str, str]  # original name -> Linux name


@dataclass(frozen=True)
class LabHandle:
    lab_dir: Path
    devices: dict[str, LabDevice]
    username: str
    key: Path
    known_hosts: Path
    converged: bool
    converge_seconds: float


def handle(lab_dir: Path) -> LabHandle:
    """Handle of a running lab, from its inventory (lab.json)."""
    inv = json.loads((lab_dir / "lab.json").read_text())
    devs = {h: LabDevice(h, d["namespace"], d["mgmt"], d["role"], d["frr"], d["interfaces"])
            for h, d in inv["devices"].items()}
    ssh = inv["ssh"]
    conv = inv.get("convergence", {})
    return LabHandle(lab_dir, devs, ssh["username"], Path(ssh["key"]), Path(ssh["known_hosts"]),
                     bool(conv.get("ok")), float(conv.get("seconds", 0)))


def up(scope: str | None, lab_dir: Path, build: Path = labmod.DEFAULT_BUILD, wait: bool = True,
       timeout: float = 90, allow_modified: bool = False) -> LabHandle:
    """Bring a lab up from a build directory (and wait for convergence); on failure everything created is
    removed again. Raises BuildError for a missing, hand-edited or stale build (unless allow_modified)."""
    lab_dir = lab_dir.resolve()
    reader = BuildReader(build, allow_modified=allow_modified)
    try:
        labmod.up(reader, scope, lab_dir)
        if wait:
            c = converge.wait(lab_dir, timeout)
            record_convergence(lab_dir, c)
    except BaseException:
        _down(lab_dir)
        raise
    return handle(lab_dir)


def record_convergence(lab_dir: Path, c: converge.Convergence) -> None:
    p = lab_dir / "lab.json"
    inv = json.loads(p.read_text())
    inv["convergence"] = {"ok": c.ok, "seconds": c.seconds, "missing": c.missing}
    p.write_text(json.dumps(inv, indent=1, ensure_ascii=False))


def down(lab_dir: Path) -> dict[str, int]:
    return _down(lab_dir.resolve())


LOCK = Path("/tmp/countynet-lab.lock")


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Hold the machine-wide lab lock: one lab at a time (the management bridge and namespace names are
    global), also across pytest-xdist workers."""
    with open(LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
