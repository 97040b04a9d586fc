"""The centre's pipeline definitions run the stages in order and block on violations."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT


def test_gitlab_pipeline_stages() -> None:
    data = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert data["stages"] == ["validate", "build", "verify"]
    assert "validate topology --locked" in " ".join(data["validate"]["script"])
    bf = data["verify-batfish"]
    assert any(s["name"] == "batfish/allinone" for s in bf["services"])
    assert "--batfish" in " ".join(bf["script"]) and "build/reports/" in bf["artifacts"]["paths"]


def test_github_workflow_steps_in_order() -> None:
    data = yaml.safe_load((ROOT / ".github/workflows/countynet.yml").read_text(encoding="utf-8"))
    job = data["jobs"]["verify"]
    assert job["services"]["batfish"]["image"] == "batfish/allinone"
    runs = [s.get("run", "") for s in job["steps"]]
    order = [next(i for i, r in enumerate(runs) if key in r) for key in
             ("validate topology --locked", "countynet build", "--offline", "--batfish")]
    assert order == sorted(order)
