"""Bad input: every case in tests/bad_inputs/ gives located messages, exit 2, no traceback, no output.

Each case is `<name>.yaml` (which file of a copy of the bundled topology to change, and how) with the
expected messages in `<name>.expected` beside it; each expected line must appear in the report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from countynet.errors import TopologyError
from countynet.outputs.pipeline import compile_topology
from tests.conftest import ROOT, edit

CASES = sorted((Path(__file__).parent / "bad_inputs").glob("*.yaml"))


def apply_case(case: Path, topo: Path) -> list[str]:
    spec = yaml.safe_load(case.read_text(encoding="utf-8"))
    edit(topo / spec["file"], spec["replace"], spec["with"])
    return [ln for ln in case.with_suffix(".expected").read_text(encoding="utf-8").splitlines() if ln.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_input_is_reported_with_location(case: Path, topo_copy: Path) -> None:
    expected = apply_case(case, topo_copy)
    with pytest.raises(TopologyError) as info:
        compile_topology(topo_copy)
    report = info.value.render()
    for line in expected:
        assert line in report, f"expected line not in report:\n  {line}\nreport:\n{report}"


@pytest.mark.parametrize("case", ["unknown_key", "yaml_syntax", "dangling_link", "pool_exhausted"])
def test_cli_exits_2_without_traceback_and_writes_nothing(case: str, topo_copy: Path, tmp_path: Path) -> None:
    apply_case(Path(__file__).parent / "bad_inputs" / f"{case}.yaml", topo_copy)
    lock_before = (topo_copy / "addresses.lock.yaml").read_text(encoding="utf-8")
    out = tmp_path / "build"
    proc = subprocess.run([sys.executable, "-m", "countynet", "build", str(topo_copy), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error:" in proc.stderr and "fix:" in proc.stderr
    assert not out.exists()
    assert (topo_copy / "addresses.lock.yaml").read_text(encoding="utf-8") == lock_before


def test_all_errors_of_a_phase_come_together(topo_copy: Path) -> None:
    edit(topo_copy / "townships/litian.yaml", "kind: town", "knd: town")
    edit(topo_copy / "units.yaml", "default_wave: 2", "default_wave: two")
    edit(topo_copy / "policy.yaml", "trust: 0,", "trust: 0, colour: red,")
    with pytest.raises(TopologyError) as info:
        compile_topology(topo_copy)
    files = {d.file for d in info.value.diagnostics}
    assert {"topology/townships/litian.yaml", "topology/units.yaml", "topology/policy.yaml"} <= files


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TopologyError) as info:
        compile_topology(tmp_path / "nope")
    assert "topology directory not found" in info.value.render()
