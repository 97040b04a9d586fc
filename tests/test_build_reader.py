"""Every consumer reads build/ through its manifest: a hand-edited, missing, extra or stale file is refused by
verify and deploy with a message naming it, and accepted with --allow-modified; deploy checks only the
files it touches."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from countynet.outputs.build_reader import BuildError, BuildReader, Problem
from countynet.outputs.flows import ALLOWED, Flow, Verdict
from tests.conftest import ROOT, build_topology, edit

HOST = "yx-litian-rt1"
OTHER = "yx-aonan-aonan"


def cli(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COUNTYNET_USERNAME": "netadmin", "COUNTYNET_PASSWORD": "x", **env}
    full.pop("BATFISH_HOST", None)
    return subprocess.run([sys.executable, "-m", "countynet", *args], capture_output=True, text=True, cwd=cwd,
                          env=full, timeout=600)


def deploy(build: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A dry-run of one device: it stops before any session (its secrets are not set), so no network."""
    return cli("deploy", "--build", str(build), "--limit", HOST, "--insecure", "--state-file", str(tmp / "st.json"),
               "--audit-log", str(tmp / "audit.jsonl"), "--backup-dir", str(tmp / "backups"), *extra)


@pytest.fixture()
def build(bundled_build: Path, tmp_path: Path) -> Path:
    """A private copy of the bundled build that a test may edit."""
    dst = tmp_path / "copy" / "build"
    shutil.copytree(bundled_build, dst)
    return dst


def test_hand_edited_build_refused_by_verify_and_deploy_and_accepted_with_allow_modified(build: Path,
                                                                                        tmp_path: Path) -> None:
    intent = build / "intent" / f"{HOST}.yaml"
    intent.write_text(intent.read_text(encoding="utf-8") + "# hand-edited\n", encoding="utf-8")
    cfg = build / "configs" / HOST / f"{HOST}.cfg"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "# hand-added\n", encoding="utf-8")

    res = cli("verify", "--offline", "--build", str(build), "--reports", str(tmp_path / "r1"))
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"modified: intent/{HOST}.yaml" in res.stderr and "manifest.json" in res.stderr
    assert "--allow-modified" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "r1").exists()
    res = cli("verify", "--offline", "--build", str(build), "--allow-modified", "--reports", str(tmp_path / "r2"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"modified: intent/{HOST}.yaml" in res.stderr and (tmp_path / "r2" / "verify-offline.json").is_file()

    res = deploy(build, tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"modified: configs/{HOST}/{HOST}.cfg" in res.stderr and f"modified: intent/{HOST}.yaml" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "audit.jsonl").exists()  # no device touched
    res = deploy(build, tmp_path, "--allow-modified")
    assert res.returncode == 1, res.stdout + res.stderr  # it ran: the device fails on its unset secrets
    assert f"warning: --allow-modified: modified: configs/{HOST}/{HOST}.cfg" in res.stderr
    assert "missing secret(s)" in res.stdout


def test_deploy_checks_only_the_files_it_touches(build: Path, tmp_path: Path) -> None:
    """Another device's edited intent stops verify (which reads every intent) but not a deploy of HOST."""
    other = build / "intent" / f"{OTHER}.yaml"
    other.write_text(other.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    res = deploy(build, tmp_path)
    assert res.returncode == 1 and "does not match" not in res.stderr, res.stdout + res.stderr
    assert "missing secret(s)" in res.stdout
    res = cli("verify", "--offline", "--build", str(build), "--reports", str(tmp_path / "r"))
    assert res.returncode == 2 and f"modified: intent/{OTHER}.yaml" in res.stderr


def test_missing_and_extra_files_are_named(build: Path, tmp_path: Path) -> None:
    (build / "intent" / f"{OTHER}.yaml").unlink()
    (build / "intent" / "yx-stranger.yaml").write_text("hostname: yx-stranger\n", encoding="utf-8")
    (build / "configs" / HOST / "extra.cfg").write_text("sysname x\n", encoding="utf-8")
    reader = BuildReader(build)
    assert set(reader.problems(prefixes=["intent/"])) == {Problem("missing", f"intent/{OTHER}.yaml"),
                                                         Problem("extra", "intent/yx-stranger.yaml")}
    with pytest.raises(BuildError) as exc:
        reader.check_hosts([HOST])
    assert exc.value.problems == [Problem("extra", f"configs/{HOST}/extra.cfg")]
    assert f"extra: configs/{HOST}/extra.cfg (on disk but not written by the build)" in exc.value.render()
    res = deploy(build, tmp_path)
    assert res.returncode == 2 and f"extra: configs/{HOST}/extra.cfg" in res.stderr  # it would be pushed


def test_stale_build_refused_until_rebuilt(topo_copy: Path, tmp_path: Path) -> None:
    """The topology beside the build changed after the build: refused, named, accepted with --allow-modified,
    and a rebuild makes it current again."""
    build = build_topology(topo_copy, tmp_path / "build")
    assert BuildReader(build).accepted == []
    edit(topo_copy / "policy.yaml", "    reason: reachability monitoring of every LAN\n",
         "    reason: reachability monitoring of every LAN (edited)\n")
    res = cli("verify", "--offline", "--build", str(build), "--reports", str(tmp_path / "r"))
    assert res.returncode == 2 and "stale: topology/policy.yaml" in res.stderr, res.stderr
    res = deploy(build, tmp_path)
    assert res.returncode == 2 and "stale: topology/policy.yaml" in res.stderr
    res = cli("verify", "--offline", "--build", str(build), "--allow-modified", "--reports", str(tmp_path / "r"))
    assert res.returncode == 0 and "stale: topology/policy.yaml" in res.stderr
    (topo_copy / "townships" / "newtown.yaml").write_text("id: newtown\n", encoding="utf-8")
    assert Problem("stale", "topology/townships/newtown.yaml") in BuildReader(build, allow_modified=True).accepted
    (topo_copy / "townships" / "newtown.yaml").unlink()
    build_topology(topo_copy, build)
    assert BuildReader(build).accepted == []


def test_no_build_and_old_manifest_are_clear(tmp_path: Path, build: Path) -> None:
    with pytest.raises(BuildError, match="no countynet build here"):
        BuildReader(tmp_path / "nothing")
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("format")
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BuildError, match="another layout"):
        BuildReader(build)
    res = cli("lab", "up", "--build", str(tmp_path / "nothing"))
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_one_intent_is_read_on_demand(bundled_build: Path, bundled) -> None:
    reader = BuildReader(bundled_build)
    assert reader.hosts[HOST]["device_type"] == "huawei" and reader.hosts[HOST]["wave"] == 2
    assert reader.intent(HOST) == bundled.intents[HOST]
    assert list(reader._intents) == [HOST]
    with pytest.raises(BuildError, match="did you mean 'yx-litian-rt1'"):
        reader.intent("yx-litian-rt")


def test_policy_data_round_trips(bundled_build: Path) -> None:
    reader = BuildReader(bundled_build)
    flows = reader.flows()
    assert flows and {f.expected for f in flows} == {"allowed", "denied"}
    assert all(Flow.from_dict(f.as_dict()) == f for f in flows)
    zm = reader.zone_map()
    assert zm.kinds["internet"] == "internet" and zm.members["village-lan"] and zm.external["city"]
    rules = reader.read_json("policy/rules.json")["rules"]
    assert {r["name"] for r in rules} >= {f.rule for f in flows if ":" not in f.rule and f.rule != "default-deny"}
    v = Verdict(flows[0], "unproven", "not in scope")
    assert v.status == "unproven" and Verdict(flows[0], flows[0].expected).status == "ok"
    assert Verdict(flows[0], "denied" if flows[0].expected == ALLOWED else ALLOWED).status == "mismatch"
    with pytest.raises(ValueError):
        Verdict(flows[0], "allow")  # the old vocabulary is refused


def test_verify_against_a_git_ref_builds_it_and_compares_builds(bundled_build: Path, tmp_path: Path) -> None:
    res = cli("verify", str(ROOT / "topology"), "--offline", "--build", str(bundled_build), "--against", "HEAD",
              "--reports", str(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads((tmp_path / "verify-diff-offline.json").read_text(encoding="utf-8"))
    assert data["against"] == "HEAD" and isinstance(data["changes"], list)
