"""The centre's pipeline definitions: valid against their published schemas, merge-request pipelines that run
the offline diff and the change review, and results that reach the reviewer (JUnit, expose_as, job summary).

The schemas are the ones `check-jsonschema` vendors (GitLab's `gitlab-ci.json` and SchemaStore's
`github-workflows.json`), so the check runs offline.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT


def _schema(name: str) -> dict[str, Any]:
    try:
        vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:
        print("SKIP: check-jsonschema is not installed (pip install -e '.[dev]')")
        pytest.skip("check-jsonschema is not installed (pip install -e '.[dev]')")
    return json.loads((vendor / name).read_text(encoding="utf-8"))


def _errors(doc: Any, schema: dict[str, Any]) -> list[str]:
    cls = jsonschema.validators.validator_for(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in cls(schema).iter_errors(doc)]


def _gitlab() -> dict[str, Any]:
    return yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text(encoding="utf-8"))


def _github() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / ".github/workflows/countynet.yml").read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as a boolean; GitHub reads it as the string
        data["on"] = data.pop(True)
    return data


def test_gitlab_ci_matches_its_published_schema() -> None:
    schema = _schema("gitlab-ci.json")
    assert _errors(_gitlab(), schema) == []
    broken = copy.deepcopy(_gitlab())
    broken["review"]["artifacts"]["expose_as"] = 42   # the check can fail
    assert _errors(broken, schema)


def test_github_workflow_matches_its_published_schema() -> None:
    schema = _schema("github-workflows.json")
    assert _errors(_github(), schema) == []
    broken = copy.deepcopy(_github())
    broken["jobs"]["verify"]["steps"][0]["uses"] = ["not", "a", "string"]
    assert _errors(broken, schema)


def test_gitlab_pipeline_stages() -> None:
    data = _gitlab()
    assert data["stages"] == ["validate", "build", "verify", "review"]
    assert "validate topology --locked" in " ".join(data["validate"]["script"])
    bf = data["verify-batfish"]
    assert any(s["name"] == "batfish/allinone" for s in bf["services"])
    assert "--batfish" in " ".join(bf["script"]) and "build/reports/" in bf["artifacts"]["paths"]


def test_gitlab_runs_merge_request_pipelines_and_shows_results_in_the_merge_request() -> None:
    data = _gitlab()
    rules = data["workflow"]["rules"]
    assert rules[0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert {"if": "$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS", "when": "never"} in rules
    # JUnit from the offline verification, written also when verify fails
    vo = data["verify-offline"]
    assert vo["artifacts"]["reports"]["junit"] == "build/reports/verify-junit.xml"
    assert vo["artifacts"]["when"] == "always"
    assert any("countynet.review.junit" in s for s in vo["script"]) and vo["script"][-1] == "exit $status"
    # the offline diff and the review run for merge requests, against the target branch
    for job in ("verify-diff-offline", "review"):
        assert data[job]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}], job
        assert "--against \"origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME\"" in " ".join(data[job]["script"]), job
    assert "--offline" in " ".join(data["verify-diff-offline"]["script"])
    rv = data["review"]["artifacts"]
    assert rv["expose_as"] == "change review" and "review/review.html" in rv["paths"]
    assert "countynet review" in " ".join(data["review"]["script"])


def test_github_workflow_steps_in_order() -> None:
    job = _github()["jobs"]["verify"]
    assert job["services"]["batfish"]["image"] == "batfish/allinone"
    runs = [s.get("run", "") for s in job["steps"]]
    order = [next(i for i, r in enumerate(runs) if key in r) for key in
             ("validate topology --locked", "countynet build", "--offline --reports", "--offline --against",
              "countynet review", "--batfish")]
    assert order == sorted(order)


def test_github_review_goes_to_the_job_summary_on_pull_requests() -> None:
    steps = _github()["jobs"]["verify"]["steps"]
    review = next(s for s in steps if "countynet review" in s.get("run", ""))
    assert review["if"] == "github.event_name == 'pull_request'"
    assert 'review.md >> "$GITHUB_STEP_SUMMARY"' in review["run"]
    diff = next(s for s in steps if "--offline --against" in s.get("run", ""))
    assert diff["if"] == "github.event_name == 'pull_request'"
    verify = next(s for s in steps if "--offline --reports" in s.get("run", ""))
    assert "GITHUB_STEP_SUMMARY" in verify["run"] and "countynet.review.junit" in verify["run"]


def test_junit_report_fails_mismatches_and_skips_unproven(tmp_path: Any) -> None:
    import xml.etree.ElementTree as ET

    from countynet.review.junit import main

    flow = {"src_zone": "a", "dst_zone": "b", "protocol": "tcp", "port": 443, "src_address": "10.0.0.1",
            "dst_address": "10.0.1.1", "rule": "r", "expected": "allowed"}
    report = {"checker": "offline", "findings": [
        {"kind": "shadowed-line", "subject": "yx-core-1", "message": "line 20 is shadowed by line 10", "flow": None},
        {"kind": "missing-allow", "subject": "yx-core-1", "message": "r: ...", "flow": {**flow, "port": 80}}],
        "flows": [{**flow, "observed": "allowed", "status": "ok"},
                  {**flow, "port": 80, "observed": "denied", "status": "mismatch", "reason": "acl 3001 line 5"},
                  {**flow, "port": 22, "observed": "unproven", "status": "unproven", "reason": "no route model"}]}
    src = tmp_path / "verify-offline.json"
    src.write_text(json.dumps(report), encoding="utf-8")
    assert main([str(src), str(tmp_path / "j.xml")]) == 0
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "2", "1")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["a>b tcp/80 10.0.0.1>10.0.1.1"].find("failure") is not None
    assert cases["a>b tcp/22 10.0.0.1>10.0.1.1"].find("skipped") is not None
    assert cases["a>b tcp/443 10.0.0.1>10.0.1.1"].find("failure") is None
    assert main([str(tmp_path / "missing.json"), str(tmp_path / "x.xml")]) == 2
