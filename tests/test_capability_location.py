"""A feature a platform flavour cannot render is reported at the topology line that chose the flavour
(issue 10: capability errors named a platform data file instead of the topology file:line)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, TOPOLOGY


def test_capability_error_points_at_the_catalog_line(tmp_path: Path) -> None:
    topo = tmp_path / "topology"
    shutil.copytree(TOPOLOGY, topo)
    catalog = topo / "catalog.yaml"
    lines = catalog.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("  debian-server:"))
    row = next(i for i in range(start, len(lines)) if lines[i].strip() == "flavour: linux_debian")
    lines[row] = lines[row].replace("linux_debian", "cisco_iosxe")  # servers on a flavour without 'server'
    catalog.write_text("".join(lines), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "countynet", "build", str(topo), "--out", str(tmp_path / "build")],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    assert f"catalog.yaml:{row + 1}:" in out, out
    assert "needs feature 'server'" in out and "countynet/platforms/" not in out.split("fix:")[0]
    assert not (tmp_path / "build").exists()
