"""`countynet deploy --offline`: the build against the last stored backups, with no device, credential or
secret (issue 13, part 6). Backups are written by the engine's own writer (scrubbed), as a deploy leaves them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from countynet.deploy.device import write_backup
from countynet.deploy.offline import COMPLIANT, NO_BACKUP, NON_COMPLIANT, preview
from tests.deploy_helpers import Workspace, make_intent
from tests.test_deploy_simulator import intended_cfg, running_cfg

ROOT = Path(__file__).resolve().parent.parent
NFT_OLD = "table inet filter {\n  chain input {\n    policy accept;\n  }\n}\n"
NFT_NEW = "table inet filter {\n  chain input {\n    policy drop;\n  }\n}\n"


def _workspace(tmp: Path) -> Workspace:
    ws = Workspace(tmp)
    ws.add(make_intent("r1", "huawei_vrpv8", "10.0.0.11"), "huawei_vrpv8", "10.0.0.11", 22, intended_cfg("vrp8"))
    ws.add(make_intent("r2", "cisco_ios", "10.0.0.12"), "cisco_ios", "10.0.0.12", 22, intended_cfg("ios", "same"))
    ws.add(make_intent("s1", "linux", "10.0.0.13"), "linux", "10.0.0.13", 22,
           {"etc/nftables.conf": NFT_NEW, "etc/hostname": "s1\n"})
    ws.add(make_intent("r4", "huawei", "10.0.0.14"), "huawei", "10.0.0.14", 22, intended_cfg("vrp5"))
    backups = tmp / "backups"
    # r1: the device still has the old description; r2: the same config (its secret shows as a hash)
    write_backup(backups, "r1", "chg-old", running_cfg("vrp8"), [])
    write_backup(backups, "r2", "chg-old", running_cfg("ios", "same"), [])
    write_backup(backups, "s1", "chg-old", {"etc/nftables.conf": NFT_OLD, "etc/hostname": "s1\n"}, [])
    return ws


def test_preview_gives_each_device_one_compliance_state(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    res = {r.host: r for r in preview(ws.build, tmp_path / "backups")}
    assert res["r1"].status == NON_COMPLIANT and res["r1"].features == ["interface"]
    assert "description new" in res["r1"].diff and res["r1"].backup_time
    assert res["r2"].status == COMPLIANT, res["r2"].diff   # the secret placeholder equals the scrubbed hash
    assert res["s1"].status == NON_COMPLIANT and res["s1"].features == ["etc/nftables.conf"]
    assert "+    policy drop;" in res["s1"].diff
    assert res["r4"].status == NO_BACKUP and not res["r4"].diff   # unproven, never compliant


def test_newest_backup_is_the_one_compared(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    write_backup(tmp_path / "backups", "r1", "chg-new", intended_cfg("vrp8").replace("${secret:aaa-netadmin}",
                                                                                       "%^%#newhash%^%#"), [])
    (r1,) = preview(ws.build, tmp_path / "backups", limit="r1")
    assert r1.status == COMPLIANT and "chg-new" in r1.backup


def test_cli_needs_no_device_credential_or_secret(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTYNET_")}
    res = subprocess.run([sys.executable, "-m", "countynet.cli.deploy", "deploy", "--offline", "--build",
                          str(ws.build), "--backup-dir", str(tmp_path / "backups")], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no device contacted" in res.stdout
    assert "compliant=1, non-compliant=2, no-backup=1" in res.stdout
    data = json.loads((ws.build / "reports" / "deploy-offline.json").read_text(encoding="utf-8"))
    assert data["summary"] == {"devices": 4, "compliant": 1, "non-compliant": 2, "no-backup": 1}
    md = (ws.build / "reports" / "deploy-offline.md").read_text(encoding="utf-8")
    assert "合规 compliant: 1" in md and "`r4` | no-backup" in md


def test_cli_offline_refuses_commit_and_bad_limits(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    base = [sys.executable, "-m", "countynet.cli.deploy", "deploy", "--offline", "--build", str(ws.build),
            "--backup-dir", str(tmp_path / "backups")]
    res = subprocess.run([*base, "--commit"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 2 and "--offline only previews" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([*base, "--limit", "nothing-*"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 2 and "selects no device" in res.stderr and "Traceback" not in res.stderr


def test_live_dry_run_previews_every_device_past_an_unreachable_one(tmp_path: Path) -> None:
    """A dry run changes nothing, so a failure budget has nothing to protect: an unreachable device is
    reported and the other waves are still previewed (a push still halts: test_deploy_simulator)."""
    import socket

    from countynet.deploy.engine import deploy
    from countynet.deploy.model import Outcome
    from tests.test_deploy_simulator import Lab

    with socket.socket() as s:     # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    lab = Lab(tmp_path)
    try:
        lab.ws.add(make_intent("a0-dead", "huawei_vrpv8", "127.0.0.1", wave=1), "huawei_vrpv8", "127.0.0.1", closed,
                   intended_cfg("vrp8"))
        lab.add("b1", "vrp8", running_cfg("vrp8"), intended_cfg("vrp8"), wave=2)
        keys = ("COUNTYNET_USERNAME", "COUNTYNET_PASSWORD", "COUNTYNET_SECRET_AAA_NETADMIN")
        old = {k: os.environ.get(k) for k in keys}
        os.environ.update(dict(zip(keys, ("netadmin", "sim-pass", "x"), strict=True)))
        try:
            rep = deploy(lab.ws.options(commit=False, max_fail="0", canary=0))
        finally:
            for k, v in old.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        assert rep.results["a0-dead"].outcome == Outcome.UNREACHABLE
        assert rep.results["b1"].outcome == Outcome.WOULD_CHANGE
        assert not rep.halted and rep.failed == ["a0-dead"]
    finally:
        lab.stop()
