"""`countynet schema` exports JSON Schema that validates the bundled files; `show` inspects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT, TOPOLOGY


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "countynet", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_schema_export_validates_bundled_files(tmp_path: Path) -> None:
    import jsonschema

    proc = run("schema", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for name, fname in (("county", "county.yaml"), ("centre", "centre.yaml"), ("units", "units.yaml"),
                        ("policy", "policy.yaml"), ("catalog", "catalog.yaml"), ("township", "townships/litian.yaml")):
        schema = json.loads((tmp_path / f"{name}.schema.json").read_text(encoding="utf-8"))
        data = yaml.safe_load((TOPOLOGY / fname).read_text(encoding="utf-8"))
        data = json.loads(json.dumps(data, default=str))
        jsonschema.validate(data, schema)
        bad = dict(data, unexpected_key=1)
        try:
            jsonschema.validate(bad, schema)
        except jsonschema.ValidationError:
            pass
        else:
            raise AssertionError(f"{name}: schema accepts unknown keys")


def test_show_device_and_site_json() -> None:
    proc = run("show", "yx-litian-rt1", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["role"] == "township_router" and d["township"] == "litian"
    proc = run("show", "yange", "--json")
    rows = json.loads(proc.stdout)
    assert len(rows) == 2 + 7  # router, switch and Yange's 7 villages (2023 division codes)
    proc = run("show", "yx-litain-rt1")
    assert proc.returncode == 2 and "did you mean 'yx-litian-rt1'" in proc.stderr
