"""The house: the public stage API, determinism across processes, and an installed wheel that works outside
the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOPOLOGY


def _build(topo: Path, out: Path, env: dict[str, str] | None = None, python: str = sys.executable,
           cwd: Path = ROOT) -> dict:
    proc = subprocess.run([python, "-m", "countynet", "build", str(topo), "--out", str(out)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_stage_api_matches_the_cli_build(tmp_path: Path) -> None:
    """load -> build_intents -> render_configs -> write_build gives the intents and configs the CLI build writes."""
    import countynet

    topo = tmp_path / "topology"
    shutil.copytree(TOPOLOGY, topo)
    assert countynet.load(topo).county.county.name
    result = countynet.render_configs(countynet.build_intents(topo))
    manifest = countynet.write_build(result, tmp_path / "api-build")
    cli = _build(topo, tmp_path / "cli-build")
    assert manifest["devices"] == cli["devices"] == len(result.intents)
    assert manifest["hosts"] == cli["hosts"]  # every intent and config file, byte for byte (sha256)


def test_build_is_deterministic_across_hash_seeds(tmp_path: Path) -> None:
    """Two processes with different PYTHONHASHSEED write identical builds (set and dict order never leaks)."""
    manifests = []
    for seed in ("1", "4242"):
        topo = tmp_path / seed / "topology"
        shutil.copytree(TOPOLOGY, topo)
        env = {**os.environ, "PYTHONHASHSEED": seed}
        manifests.append(_build(topo, tmp_path / seed / "build", env=env))
    assert manifests[0] == manifests[1]


@pytest.mark.slow
def test_wheel_builds_the_bundled_topology_outside_the_checkout(tmp_path: Path) -> None:
    """`pip install` of the wheel (not editable) into a fresh venv gives a working `countynet build` from any
    directory: templates and platform data ship as package data. The fresh venv borrows the dependencies of the
    test environment through a path entry (no network), but never its editable countynet."""
    wheels = tmp_path / "wheels"
    # setuptools builds in the source tree (build/, *.egg-info): build from a copy, so that the checkout's build/
    # stays the user's (`countynet build` refuses a build/ it did not write)
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "lab-run"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(wheels), str(src)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "No module named pip" in proc.stderr:
        pytest.skip("the test environment has no pip to build a wheel with")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = wheels.glob("countynet-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # install the wheel by unpacking it (what pip does for a pure wheel), then borrow the dependencies
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, timeout=300)
    (site / "zz-borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(py), "-c", "import countynet; print(countynet.__file__)"], capture_output=True,
                           text=True, cwd=elsewhere, env=env, check=True).stdout.strip()
    assert where.startswith(str(site)), f"countynet imported from {where}, not from the installed wheel"
    topo = elsewhere / "topology"
    shutil.copytree(TOPOLOGY, topo)
    installed = _build(topo, elsewhere / "build", env=env, python=str(py), cwd=elsewhere)
    shutil.copytree(TOPOLOGY, tmp_path / "ref-topology")
    reference = _build(tmp_path / "ref-topology", tmp_path / "ref-build")
    assert installed == reference
