"""Outputs are safe: countynet only replaces directories it wrote, and bounded YAML input (issue 10)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from countynet.fileio import (
    OUTPUT_MARKER,
    StagedDir,
    UnsafeOutput,
    YamlTooLarge,
    check_output_dir,
    check_yaml_expansion,
)
from tests.conftest import TOPOLOGY


def _project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    topo = root / "topology"
    topo.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    (topo / "county.yaml").write_text("county: {}\n", encoding="utf-8")
    return root, topo


@pytest.mark.parametrize("where", ["topology", "topology/sub", ".", "/"])
def test_output_refused_at_sources_project_root_and_filesystem_root(tmp_path: Path, where: str) -> None:
    root, topo = _project(tmp_path)
    out = Path(where) if where == "/" else root / where
    with pytest.raises(UnsafeOutput) as exc:
        check_output_dir(out, sources=[topo])
    assert exc.value.hint


def test_output_refused_when_it_contains_the_sources(tmp_path: Path) -> None:
    root, topo = _project(tmp_path)
    (root / "pyproject.toml").unlink()
    with pytest.raises(UnsafeOutput, match="topology sources"):
        check_output_dir(root, sources=[topo])


def test_output_refused_at_home(tmp_path: Path) -> None:
    with pytest.raises(UnsafeOutput, match="home"):
        check_output_dir(Path.home(), sources=[tmp_path / "topology"])


def test_foreign_directory_refused_own_output_replaced(tmp_path: Path) -> None:
    root, topo = _project(tmp_path)
    out = root / "build"
    check_output_dir(out, sources=[topo])  # new: fine
    out.mkdir()
    check_output_dir(out, sources=[topo])  # empty: fine
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UnsafeOutput, match="no countynet build wrote"):
        check_output_dir(out, sources=[topo])
    (out / "notes.txt").unlink()
    with StagedDir(out) as stage:
        stage.write("manifest.json", "{}")
        stage.commit()
    assert (out / OUTPUT_MARKER).is_file()
    check_output_dir(out, sources=[topo])  # marked by the previous build: may be replaced


def test_legacy_output_recognised_by_its_entries(tmp_path: Path) -> None:
    root, topo = _project(tmp_path)
    inv = root / "inventory"
    (inv / "nornir").mkdir(parents=True)
    (inv / "ansible").mkdir()
    check_output_dir(inv, sources=[topo], legacy=("nornir", "ansible"))
    (inv / "hosts.ini").write_text("x", encoding="utf-8")
    with pytest.raises(UnsafeOutput):
        check_output_dir(inv, sources=[topo], legacy=("nornir", "ansible"))


def _bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_refused_at_its_line() -> None:
    node = yaml.compose(_bomb(9), Loader=yaml.CSafeLoader)
    with pytest.raises(YamlTooLarge) as exc:
        check_yaml_expansion(node)
    assert exc.value.line > 1


def test_modest_aliases_accepted_and_counted_exactly() -> None:
    node = yaml.compose(_bomb(2), Loader=yaml.CSafeLoader)
    # root mapping 1 + key l0 1 + list 1 + 9 scalars, key l1 1 + list 1 + 9 x (list 1 + 9 scalars)
    assert check_yaml_expansion(node) == 1 + (1 + 1 + 9) + (1 + 1 + 9 * 10)


# ------------------------------------------------------------------------------------- through the CLI
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "countynet", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("out", ["topology", "topology/build", "."])
def test_build_out_at_the_sources_or_project_root_changes_nothing(tmp_path: Path, out: str) -> None:
    project = tmp_path / "project"
    shutil.copytree(TOPOLOGY, project / "topology")
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    before = _snapshot(project)
    proc = _cli("build", "topology", "--out", out, cwd=project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "fix:" in proc.stderr + proc.stdout
    assert _snapshot(project) == before


def test_build_refuses_a_foreign_directory_and_replaces_its_own(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(TOPOLOGY, project / "topology")
    (project / "docs").mkdir()
    (project / "docs" / "notes.md").write_text("my notes", encoding="utf-8")
    proc = _cli("build", "topology", "--out", "docs", cwd=project)
    assert proc.returncode == 2 and (project / "docs" / "notes.md").read_text(encoding="utf-8") == "my notes"
    assert _cli("build", "topology", "--out", "out", cwd=project).returncode == 0
    assert _cli("build", "topology", "--out", "out", cwd=project).returncode == 0  # its own: replaced


def test_alias_bomb_in_the_lock_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(TOPOLOGY, project / "topology")
    lock = project / "topology" / "addresses.lock.yaml"
    lock.write_text("version: 1\n" + _bomb(9).replace("l0:", "addresses: {}\nl0:"), encoding="utf-8")
    before = _snapshot(project)
    proc = _cli("build", "topology", "--out", "build", cwd=project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "alias" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert _snapshot(project) == before and not (project / "build").exists()


def test_alias_bomb_in_a_topology_file_is_refused_with_its_location(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(TOPOLOGY, project / "topology")
    units = project / "topology" / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8") + "\n" + _bomb(9).replace("l0:", "x_bomb:\n  l0:")
                     .replace("\nl", "\n  l"), encoding="utf-8")
    proc = _cli("validate", "topology", cwd=project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "units.yaml:" in proc.stdout + proc.stderr and "alias" in proc.stdout + proc.stderr
