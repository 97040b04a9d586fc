"""`countynet build` as its users expect (issue 13, part 6): it says which devices changed since the previous
build, never deletes reports it did not write (`build/reports`, written by verify and review), and leaves
output readable by the group (mkdtemp's 0700 hid build/ and inventory/ from colleagues and CI runners)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from countynet.fileio import StagedDir, atomic_write_text
from countynet.outputs.pipeline import device_changes

ROOT = Path(__file__).resolve().parent.parent


def build(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "countynet", "build", "topology", "--out", "build", *extra],
                          capture_output=True, text=True, cwd=project, timeout=900,
                          env={**os.environ, "COLUMNS": "250"})


def test_build_lists_changed_devices_and_keeps_reports(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "topology", tmp_path / "topology")
    first = build(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "no previous build to compare with" in first.stdout
    report = tmp_path / "build" / "reports" / "verify-offline.json"
    report.parent.mkdir()
    report.write_text('{"result": "clean"}\n', encoding="utf-8")
    again = build(tmp_path, "--json")
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["device_changes"] == {"added": [], "removed": [], "changed": [], "intent_only": []}
    assert data["changed"] is False
    assert report.read_text(encoding="utf-8") == '{"result": "clean"}\n', "a rebuild keeps verify's reports"
    tw = sorted((tmp_path / "topology" / "townships").glob("*.yaml"))[0]
    doc = yaml.safe_load(tw.read_text(encoding="utf-8"))
    doc["villages"].append({"id": "xinzhuang", "name_zh": "新庄村", "attach": "leased"})
    tw.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    third = build(tmp_path)
    assert third.returncode == 0, third.stderr
    new = f"yx-{doc['id']}-xinzhuang"
    assert f"devices added (1): {new}" in third.stdout
    assert f"yx-{doc['id']}-rt1" in third.stdout.split("devices changed")[1]   # its uplink's router changed
    assert report.exists()
    # readable by the group, not by others (the umask may take more away, never give more)
    umask = os.umask(0o022)
    os.umask(umask)
    for d in (tmp_path / "build", tmp_path / "inventory"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o750 & ~umask, d


def test_device_changes_against_the_previous_manifest() -> None:
    old = {"hosts": {"a": {"files": {"intent/a.yaml": "1", "configs/a/a.cfg": "1"}},
                     "b": {"files": {"intent/b.yaml": "1", "configs/b/b.cfg": "1"}},
                     "c": {"files": {"intent/c.yaml": "1", "configs/c/c.cfg": "1"}}}}
    new = {"hosts": {"a": {"files": {"intent/a.yaml": "2", "configs/a/a.cfg": "1"}},
                     "b": {"files": {"intent/b.yaml": "2", "configs/b/b.cfg": "2"}},
                     "d": {"files": {"intent/d.yaml": "1"}}}}
    assert device_changes(old, new) == {"added": ["d"], "removed": ["c"], "changed": ["b"], "intent_only": ["a"]}
    assert device_changes(None, new)["added"] == ["a", "b", "d"]


def test_staged_output_and_new_files_are_group_readable(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    with StagedDir(tmp_path / "out") as stage:
        stage.write("x/y.txt", "y")
        stage.commit()
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750 & ~umask
    atomic_write_text(tmp_path / "new.txt", "n")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640 & ~umask
    (tmp_path / "kept.txt").write_text("k")
    os.chmod(tmp_path / "kept.txt", 0o644)
    atomic_write_text(tmp_path / "kept.txt", "k2")   # a replaced file keeps its mode (a checked-out lock)
    assert stat.S_IMODE((tmp_path / "kept.txt").stat().st_mode) == 0o644
