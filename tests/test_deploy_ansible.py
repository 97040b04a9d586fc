"""playbooks/deploy.yml (role countynet_deploy) drives the same engine: a dry run unless asked to push, a
canary wave first; playbooks/build.yml reports `changed` from the build's own list of changed devices.

Runs `ansible-playbook` (ansible-core from the venv, from the repository root so that ansible.cfg applies)
against simulator devices (tests/simulators: the Huawei/H3C/Cisco CLIs cannot run here) and asserts the
simulated devices' configs: untouched by a dry run, changed by a push.
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
            "-e", f"countynet_deploy_project_dir={ws}", "-e", "countynet_deploy_inventory_dir=inventory",
            "-e", "countynet_deploy_backup_dir=backups", "-e", "countynet_deploy_audit_log=audit.jsonl",
            "-e", f"countynet_deploy_known_hosts={ws / 'known_hosts'}", "-e", "countynet_deploy_rollback_timer=120",
            *extra]
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

        res = playbook(lab, "-e", "countynet_push=true")
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
        res = playbook(lab, "-e", "countynet_push=true")
        assert res.returncode != 0
        assert "rejected" in res.stdout
        assert " description old" in lines(dev.running)
    finally:
        lab.stop()


def test_default_run_is_a_dry_run_in_waves_with_a_canary(tmp_path: Path) -> None:
    """No --check and no countynet_push: nothing is sent; the play runs a canary (1 device) before the rest."""
    lab = Lab(tmp_path)
    try:
        devs = [lab.add(f"r{i}", "vrp8", running_cfg("vrp8"), intended_cfg("vrp8")) for i in (1, 2, 3)]
        res = playbook(lab)
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.count("would-change") >= 3 and "committed" not in res.stdout
        assert all(" description old" in lines(d.running) for d in devs)
        # serial [1, 10%, 100%]: one play run per wave, the first with the canary alone
        waves = res.stdout.split("PLAY [Countynet deploy]")[1:]
        assert len(waves) == 3, res.stdout
        assert "[r1]" in waves[0] and "[r2]" not in waves[0] and "[r3]" not in waves[0]   # the canary alone
        assert "changed: [r1]" in waves[0]   # check mode: "changed" means "would change"
        audit = lab.ws.root / "audit.jsonl"
        assert not audit.exists() or "committed" not in audit.read_text()
    finally:
        lab.stop()


def test_a_failing_canary_halts_the_push(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        canary = lab.add("r1", "comware", running_cfg("comware"), intended_cfg("comware", extra="bogus 1\n"))
        rest = [lab.add(f"r{i}", "vrp8", running_cfg("vrp8"), intended_cfg("vrp8")) for i in (2, 3)]
        res = playbook(lab, "-e", "countynet_push=true")
        assert res.returncode != 0 and "rejected" in res.stdout
        assert " description old" in lines(canary.running)
        assert all(" description old" in lines(d.running) for d in rest), "no push after the failed canary"
        assert "r2" not in res.stdout.split("PLAY RECAP")[0].split("PLAY [Countynet deploy]")[1]
    finally:
        lab.stop()


def _build_playbook(project: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], bool]:
    exe = Path(sys.executable).parent / "ansible-playbook"
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
           "PATH": f"{exe.parent}:{os.environ.get('PATH', '')}"}
    res = subprocess.run([str(exe), "-i", "localhost,", str(ROOT / "playbooks/build.yml"),
                          "-e", f"countynet_project_dir={project}", *extra],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    recap = res.stdout.split("PLAY RECAP")[-1]
    return res, "changed=1" in recap


def test_build_playbook_reports_changed_from_the_build(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "ansible-playbook"
    if not exe.exists():
        print("SKIP: ansible-playbook not installed in the venv")
        pytest.skip("ansible-playbook not installed in the venv")
    shutil.copytree(ROOT / "topology", tmp_path / "topology")
    res, changed = _build_playbook(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert changed, "the first build adds every device"
    res, changed = _build_playbook(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not changed, "the same topology again changes nothing: " + res.stdout[-2000:]
    tw = sorted((tmp_path / "topology" / "townships").glob("*.yaml"))[0]
    data = yaml.safe_load(tw.read_text(encoding="utf-8"))
    data["villages"].append({"id": "xinzhuang", "name_zh": "新庄村", "attach": "leased"})
    tw.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    res, changed = _build_playbook(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert changed and f"yx-{data['id']}-xinzhuang" in res.stdout


def test_build_playbook_check_mode_validates() -> None:
    exe = Path(sys.executable).parent / "ansible-playbook"
    if not exe.exists():
        print("SKIP: ansible-playbook not installed in the venv")
        pytest.skip("ansible-playbook not installed in the venv")
    env = {**os.environ, "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_NOCOLOR": "1"}
    res = subprocess.run([str(exe), "-i", "localhost,", str(ROOT / "playbooks/build.yml"), "--check"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "failed=0" in res.stdout and "skipped=2" in res.stdout   # validate ran; build and its report skipped
