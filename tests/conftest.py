"""Shared fixtures: the bundled topology (compiled, and built into a build directory), copies of it to edit,
and skip helpers with printed reasons."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY = ROOT / "topology"
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def bundled():
    """The bundled Yongxin topology compiled once (validated model, intents, lock)."""
    from countynet.outputs.pipeline import compile_topology

    return compile_topology(TOPOLOGY)


def build_topology(topology: Path, out: Path) -> Path:
    """Build a topology into `out` the way `countynet build` does (the lock and inventory/ are left alone);
    returns `out`. verify, the lab and deploy read such a build directory."""
    from countynet.cli.common import build_into

    build_into(topology, out, write_lock=False, inventory_dir=out.parent / f"{out.name}-inventory")
    return out


@pytest.fixture(scope="session")
def bundled_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled Yongxin topology built once into a temporary build directory."""
    return build_topology(TOPOLOGY, tmp_path_factory.mktemp("bundled") / "build")


@pytest.fixture()
def topo_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled topology (as tmp/topology) that a test may edit."""
    dst = tmp_path / "topology"
    shutil.copytree(TOPOLOGY, dst)
    return dst


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces); CI runs as root")


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `root` (namespaces, sshd, FRR, unshare) skip with a printed reason when not run as root."""
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (network namespaces, sshd, FRR); CI runs as root: sudo scripts/test.sh")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
