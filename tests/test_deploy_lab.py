"""The push engine against the emulated lab (countynet.lab.api): FRR routers reached over real SSH.

Root + lab packages (FRR) only; skips with a printed reason otherwise. Pushes /etc/frr/frr.conf to
yx-core-1 (reloaded with frr-reload.py) and checks OSPF neighbours with vtysh as the post-check.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from countynet.deploy.engine import deploy
from countynet.deploy.model import Outcome
from countynet.outputs.build_reader import BuildReader
from tests.deploy_helpers import Workspace

pytestmark = pytest.mark.root  # network namespaces, sshd, FRR

FRR = "etc/frr/frr.conf"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, bundled_build: Path) -> Iterator[object]:
    if os.geteuid() != 0:
        print("SKIP: the lab needs root")
        pytest.skip("the lab needs root (network namespaces)")
    if not Path("/usr/lib/frr/zebra").exists() or shutil.which("vtysh") is None:
        print("SKIP: FRR not installed (apt-get install -y frr)")
        pytest.skip("FRR not installed")
    try:
        from countynet.lab import api
    except ImportError:
        print("SKIP: countynet.lab not available")
        pytest.skip("countynet.lab not available")
    d = tmp_path_factory.mktemp("lab")
    with api.exclusive():
        handle = api.up("device:yx-core-1,device:yx-fw-1", d, build=bundled_build)
        try:
            yield handle
        finally:
            api.down(d)


def _session(lab: object, host: str) -> object:
    from netmiko import ConnectHandler
    dev = lab.devices[host]  # type: ignore[attr-defined]
    return ConnectHandler(device_type="linux", host=dev.mgmt, username=lab.username,  # type: ignore[attr-defined]
                          key_file=str(lab.key), ssh_strict=True, system_host_keys=False,  # type: ignore[attr-defined]
                          alt_host_keys=True, alt_key_file=str(lab.known_hosts))  # type: ignore[attr-defined]


def _state(lab: object) -> tuple[str, list[str]]:
    c = _session(lab, "yx-core-1")
    try:
        conf = c.send_command("cat /etc/frr/frr.conf")  # type: ignore[attr-defined]
        nbrs = json.loads(c.send_command("vtysh -c 'show ip ospf neighbor json'"))  # type: ignore[attr-defined]
    finally:
        c.disconnect()  # type: ignore[attr-defined]
    full = [e["address"] for v in nbrs.get("neighbors", {}).values() for e in v
            if str(e.get("nbrState", "")).startswith("Full")]
    return conf + "\n", full


@pytest.fixture
def ws(lab: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
       bundled_build: Path) -> Iterator[tuple[Workspace, str, list[str]]]:
    conf, full = _state(lab)
    assert full, "lab not converged: yx-core-1 has no Full OSPF neighbour"
    ws = Workspace(tmp_path)
    intent = BuildReader(bundled_build).intent("yx-core-1")
    mgmt = lab.devices["yx-core-1"].mgmt  # type: ignore[attr-defined]
    ws.add(intent, "linux", mgmt, 22, {FRR: conf},
           data={"state_dir": "/run/countynet-deploy", "expect_ospf": len(full), "uplink_target": full[0]})
    ws.known_hosts_lines = [Path(lab.known_hosts).read_text()]  # type: ignore[attr-defined]
    ws.write_inventory()
    monkeypatch.setenv("COUNTYNET_USERNAME", lab.username)  # type: ignore[attr-defined]
    monkeypatch.setenv("COUNTYNET_SSH_KEY", str(lab.key))  # type: ignore[attr-defined]
    monkeypatch.delenv("COUNTYNET_PASSWORD", raising=False)
    yield ws, conf, full


def test_frr_change_commits_with_ospf_post_check(lab: object, ws: tuple[Workspace, str, list[str]]) -> None:
    w, conf, full = ws
    new = conf.replace("description router id and management", "description router id (deployed)")
    assert new != conf
    w.set_config("yx-core-1", {FRR: new})
    r = deploy(w.options(commit=True, rollback_timer=30, command_timeout=20, check_retries=5,
                         check_interval=2)).results["yx-core-1"]
    assert r.outcome == Outcome.COMMITTED, r.detail
    assert r.checks == {"management": True, "ospf": True, "uplink": True}
    got, nbrs = _state(lab)
    assert "description router id (deployed)" in got and sorted(nbrs) == sorted(full)
    # restore the original through the engine as well
    w.set_config("yx-core-1", {FRR: conf})
    assert deploy(w.options(commit=True, rollback_timer=30, command_timeout=20)).results["yx-core-1"].outcome \
        == Outcome.COMMITTED


def test_frr_change_breaking_ospf_rolls_back(lab: object, ws: tuple[Workspace, str, list[str]]) -> None:
    w, conf, full = ws
    # move every OSPF interface to another area: adjacencies drop, the OSPF post-check fails
    broken = conf.replace("ip ospf area 0.0.0.0", "ip ospf area 0.0.0.9")
    w.set_config("yx-core-1", {FRR: broken})
    r = deploy(w.options(commit=True, rollback_timer=60, command_timeout=20, check_retries=3,
                         check_interval=2)).results["yx-core-1"]
    assert r.outcome == Outcome.ROLLED_BACK, r.detail
    assert r.checks.get("ospf") is False
    got, _ = _state(lab)
    assert got == conf
    for _ in range(20):   # adjacency comes back after the restore (dead interval 4 s)
        _, nbrs = _state(lab)
        if sorted(nbrs) == sorted(full):
            break
        time.sleep(1)
    assert sorted(nbrs) == sorted(full)
