"""CLI: bad input gives a clear message and a non-zero exit, never a traceback; limits and plans."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from countynet.deploy.select import LimitError, budget, plan, select
from tests.deploy_helpers import Workspace, make_intent

ROOT = Path(__file__).resolve().parent.parent

HOSTS = {
    "yx-a-rt1": {"role": "township_router", "township": "a", "wave": 2, "device_type": "huawei"},
    "yx-a-sw1": {"role": "township_switch", "township": "a", "wave": 2, "device_type": "huawei"},
    "yx-b-rt1": {"role": "township_router", "township": "b", "wave": 3, "device_type": "hp_comware"},
    "yx-core-1": {"role": "core", "township": None, "wave": 1, "device_type": "huawei_vrpv8"},
}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "countynet.cli.deploy", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_limit_expressions() -> None:
    assert select(HOSTS, "yx-*-rt1") == ["yx-a-rt1", "yx-b-rt1"]
    assert select(HOSTS, "role=township_*,!township=b") == ["yx-a-rt1", "yx-a-sw1"]
    assert select(HOSTS, "platform=huawei_vrpv8") == ["yx-core-1"]
    assert select(HOSTS, "wave=2") == ["yx-a-rt1", "yx-a-sw1"]
    with pytest.raises(LimitError, match="unknown limit key 'colour'"):
        select(HOSTS, "colour=red")


def test_plan_canary_then_waves_townships_batches() -> None:
    names = sorted(HOSTS)
    assert plan(HOSTS, names, "wave", canary=1) == [
        ("canary", ["yx-core-1"]), ("wave 2", ["yx-a-rt1", "yx-a-sw1"]), ("wave 3", ["yx-b-rt1"])]
    assert [w for w, _ in plan(HOSTS, names, "township", canary=0)] == ["township -", "township a", "township b"]
    assert [len(h) for _, h in plan(HOSTS, names, "batch", batch_size=3, canary=0)] == [3, 1]


def test_budget() -> None:
    assert budget("2", 10) == 2 and budget("10%", 50) == 5 and budget("0", 3) == 0
    with pytest.raises(LimitError):
        budget("lots", 3)


def test_cli_errors_are_clear(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "COUNTYNET_USERNAME": "u", "COUNTYNET_PASSWORD": "p"}
    res = run("deploy", "--build", str(tmp_path / "none"), env=env)
    assert res.returncode == 2 and "no countynet build here" in res.stderr and "countynet build" in res.stderr
    assert "Traceback" not in res.stderr
    ws = Workspace(tmp_path / "ws")
    ws.add(make_intent("r1", "huawei", "127.0.0.1"), "huawei", "127.0.0.1", 22, "sysname r1\n")
    build = str(ws.build)
    env.pop("COUNTYNET_USERNAME")
    res = run("deploy", "--build", build, env=env)
    assert res.returncode == 2 and "COUNTYNET_USERNAME" in res.stderr and "Traceback" not in res.stderr
    env["COUNTYNET_USERNAME"] = "u"
    res = run("deploy", "--build", build, "--insecure", "--limit", "nothing-*", env=env)
    assert res.returncode == 2 and "no device matches" in res.stderr
    res = run("deploy", "--build", build, "--insecure", "--max-fail", "many", "--state-file",
              str(tmp_path / "s.json"), env=env)
    assert res.returncode == 2 and "--max-fail" in res.stderr and "Traceback" not in res.stderr
    res = run("deploy", "--build", build, "--insecure", "--resume", "--state-file", str(tmp_path / "x.json"),
              env=env)
    assert res.returncode == 2 and "nothing to resume" in res.stderr
    res = run("rollback", "r1", "--build", build, "--insecure", "--backup-dir", str(tmp_path / "b"), env=env)
    assert res.returncode == 2 and "no backup for r1" in res.stderr
    res = run("rollback", "r9", "--build", build, "--insecure", env=env)
    assert res.returncode == 2 and "no device of that name" in res.stderr
    res = run("deploy", "--build", build, "--inventory", str(tmp_path / "none"), "--insecure", env=env)
    assert res.returncode == 2 and "no Nornir inventory" in res.stderr and "Traceback" not in res.stderr
