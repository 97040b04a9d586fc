"""playbooks/deploy.yml (role countynet_deploy) drives the same engine: check mode = dry-run.

Runs `ansible-playbook` (ansible-core from the venv) against simulator devices (tests/simulators) and
asserts the simulated devices' configs: untouched by --check, changed by a real run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.simulators.vendor_cli import lines
from tests.test_deploy_simulator import Lab, intended_cfg, running_cfg

ROOT = Path(__file__).resolve().parent.parent


def playbook(lab: Lab, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "ansible-playbook"
    if not exe.exists() and shutil.which("ansible-playbook") is None:
        print("SKIP: ansible-playbook not installed")
        pytest.skip("ansible-playbook not installed (pip install ansible-core)")
    ws = lab.ws.root
    inv = ws / "ansible-hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {h: None for h in lab.ws.hosts}}}))
    env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_HOST_KEY_CHECKING": "False",
           "COUNTYNET_USERNAME": "netadmin", "COUNTYNET_PASSWORD": "sim-pass",
           "COUNTYNET_SECRET_AAA_NETADMIN": "x", "PATH": f"{exe.parent}:{os.environ.get('PATH', '')}"}
    args = [str(exe if exe.exists() else "ansible-playbook"), "-i", str(inv), str(ROOT / "playbooks/deploy.yml"),
            "-e", f"countynet_project_dir={ws}", "-e", "countynet_inventory_dir=inventory",
            "-e", "countynet_backup_dir=backups", "-e", "countynet_audit_log=audit.jsonl",
            "-e", f"countynet_known_hosts={ws / 'known_hosts'}", "-e", "countynet_rollback_timer=120", *extra]
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_check_mode_is_dry_run_then_real_run_commits(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        a = lab.add("r1", "vrp8", running_cfg("vrp8"), intended_cfg("vrp8"))
        b = lab.add("r2", "ios", running_cfg("ios"), intended_cfg("ios"))
        res = playbook(lab, "--check", "--diff")
        assert res.returncode == 0, res.stdout + res.stderr
        assert "would-change" in res.stdout and "description new" in res.stdout
        assert " description old" in lines(a.running) and " description old" in lines(b.running)

        res = playbook(lab)
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.count("committed") >= 2
        assert " description new" in lines(a.running) and " description new" in lines(b.running)
        audit = (lab.ws.root / "audit.jsonl").read_text()
        assert audit.count('"result": "committed"') == 2
    finally:
        lab.stop()


def test_failure_is_reported_by_ansible(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        dev = lab.add("r1", "comware", running_cfg("comware"), intended_cfg("comware", extra="bogus 1\n"))
        res = playbook(lab)
        assert res.returncode != 0
        assert "rejected" in res.stdout
        assert " description old" in lines(dev.running)
    finally:
        lab.stop()


def test_build_playbook_check_mode_validates() -> None:
    exe = Path(sys.executable).parent / "ansible-playbook"
    if not exe.exists():
        print("SKIP: ansible-playbook not installed in the venv")
        pytest.skip("ansible-playbook not installed in the venv")
    env = {**os.environ, "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_NOCOLOR": "1"}
    res = subprocess.run([str(exe), "-i", "localhost,", str(ROOT / "playbooks/build.yml"), "--check"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "failed=0" in res.stdout and "skipped=1" in res.stdout   # validate ran, build skipped
