"""Mutation tests of the exhaustive check: a real build, one hand edit of a rendered configuration (what deploy
would push), and the check must find the change with a counterexample that names the edited device.

Each mutation is compared with the unedited build's own result (which has no finding: see
tests/test_policy.py::test_bundled_build_verifies_clean_exhaustively), so nothing the unedited build has can mask
or fake a catch: a mutation is caught when a difference appears that the unedited build does not have, and its
explanation names the edited device.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from countynet.outputs.build_reader import BuildReader
from countynet.verify.exhaustive import Checker, Result
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def baseline(bundled_build: Path) -> Result:
    return Checker(BuildReader(bundled_build)).run()


def _keys(res: Result) -> set[tuple[str, str, str, int]]:
    return {(d["kind"], d["from"], d["to"], d["packets"]) for d in res.differences}


def mutate(bundled_build: Path, tmp_path: Path, host: str, change) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the build with `configs/<host>/<host>.cfg` rewritten by `change(text) -> text`."""
    out = tmp_path / "build"
    shutil.copytree(bundled_build, out)
    cfg = out / "configs" / host / f"{host}.cfg"
    text = cfg.read_text(encoding="utf-8")
    new = change(text)
    assert new != text, "the mutation did not apply"
    cfg.write_text(new, encoding="utf-8")
    return out


def caught(baseline: Result, build: Path, host: str, kind: str) -> dict:  # type: ignore[type-arg]
    """The new difference of `kind` whose counterexample's path names `host`."""
    res = Checker(BuildReader(build, allow_modified=True)).run()
    new = [d for d in res.differences if (d["kind"], d["from"], d["to"], d["packets"]) not in _keys(baseline)]
    hits = [d for d in new if d["kind"] == kind and any(host in why for why in d["explain"])]
    assert hits, (kind, host, [(d["kind"], d["from"], d["to"], d["example"], d["explain"][:1]) for d in new])
    d = hits[0]
    assert d["example"] and d["regions"] and d["packets"] > 0
    return d


def _acl_block(text: str, description: str) -> tuple[int, int]:
    """Start and end offsets of the `acl number N` block whose description contains `description`."""
    for m in re.finditer(r"^acl number \d+\n(?: .*\n)+", text, flags=re.M):
        if description in m.group(0):
            return m.start(), m.end()
    raise AssertionError(f"no ACL described {description}")


def drop_final_deny(text: str) -> str:
    """A Huawei configuration whose CN-FROM-COMPOUND filter lost its final deny (and that rule's description)."""
    a, b = _acl_block(text, "CN-FROM-COMPOUND")
    block = text[a:b]
    rules = [ln for ln in block.splitlines() if re.match(r" rule \d+ (?:permit|deny) ", ln)]
    last = rules[-1]
    assert re.match(r" rule \d+ deny ip source any destination any", last), last
    number = last.split()[1]  # the rule and its `rule N description` line go together
    kept = [ln for ln in block.splitlines(keepends=True) if not ln.startswith(f" rule {number} ")]
    return text[:a] + "".join(kept) + text[b:]


def test_dropped_final_deny_is_caught(bundled_build: Path, baseline: Result, tmp_path: Path) -> None:
    """Huawei traffic-policy forwards what no rule matches: without its final deny the compound reaches more."""
    d = caught(baseline, mutate(bundled_build, tmp_path, "yx-core-1", drop_final_deny), "yx-core-1", "extra-allow")
    assert d["from"] == "compound" and "default action" in " ".join(d["explain"])


def test_swapped_permit_is_caught(bundled_build: Path, baseline: Result, tmp_path: Path) -> None:
    """The city edge's first permit for replies turned into a deny: the units lose their superiors' answers."""
    def change(text: str) -> str:
        m = re.search(r"^( \d+ )permit (tcp 10\.36\.\S+ .*established)$", text, flags=re.M)
        assert m, "no reply line on the city edge"
        return text[:m.start()] + f"{m.group(1)}deny {m.group(2)}" + text[m.end():]

    d = caught(baseline, mutate(bundled_build, tmp_path, "yx-city-1", change), "yx-city-1", "missing-allow")
    assert d["from"] == "city" and d["rule"].endswith("(reply)")


def test_shrunk_port_range_is_caught(bundled_build: Path, baseline: Result, tmp_path: Path) -> None:
    """RADIUS 1812-1813 narrowed to 1812 on one core: port 1813 is lost on that core's paths."""
    def change(text: str) -> str:
        return text.replace("destination-port range 1812 1813", "destination-port range 1812 1812", 1)

    d = caught(baseline, mutate(bundled_build, tmp_path, "yx-core-1", change), "yx-core-1", "missing-allow")
    assert d["to"] == "management" and "1813" in d["example"]


def test_removed_transit_filter_is_caught(bundled_build: Path, baseline: Result, tmp_path: Path) -> None:
    """The township router's filter towards one village removed: a compromised village gateway (any source of
    its LAN, its own filter bypassed) now reaches what the policy forbids."""
    text = (bundled_build / "configs" / "yx-aonan-rt1" / "yx-aonan-rt1.cfg").read_text(encoding="utf-8")
    blocks = re.findall(r"^interface \S+\n description to yx-aonan-(?!sw)\S+.*\n(?: .*\n)*? traffic-filter inbound "
                        r"acl \d+\n", text, flags=re.M)
    if not blocks:
        pytest.skip("this build has no transit filter on the township router towards its villages")

    def change(t: str) -> str:
        line = re.search(r" traffic-filter inbound acl \d+\n", blocks[0])
        assert line
        return t.replace(blocks[0], blocks[0].replace(line.group(0), ""), 1)

    d = caught(baseline, mutate(bundled_build, tmp_path, "yx-aonan-rt1", change), "compromised",
               "attacker-extra-allow")
    assert d["from"] == "village-lan"


def test_cli_reports_a_mutation_and_refuses_it_without_allow_modified(bundled_build: Path, tmp_path: Path) -> None:
    out = mutate(bundled_build, tmp_path, "yx-core-1",
                 lambda t: t.replace("destination-port range 1812 1813", "destination-port range 1812 1812", 1))
    cmd = [sys.executable, "-m", "countynet", "verify", "--offline", "--build", str(out), "--reports",
           str(tmp_path / "rep"), "--json"]
    refused = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert refused.returncode == 2 and "yx-core-1.cfg" in refused.stderr and "Traceback" not in refused.stderr
    proc = subprocess.run([*cmd, "--allow-modified"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    msgs = [f["message"] for f in data["findings"] if f["kind"] == "missing-allow" and "management" in f["subject"]]
    assert any("1813" in m and "yx-core-1" in m for m in msgs), msgs


def test_unreadable_config_is_a_clear_error(bundled_build: Path, tmp_path: Path) -> None:
    out = mutate(bundled_build, tmp_path, "yx-core-1",
                 lambda t: t.replace(" rule 5 permit", " rule 5 allow", 1))
    proc = subprocess.run([sys.executable, "-m", "countynet", "verify", "--offline", "--build", str(out),
                           "--allow-modified", "--reports", str(tmp_path / "rep")], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "yx-core-1.cfg:" in proc.stderr and "neither permit nor deny" in proc.stderr


def test_invariant_violation_is_reported(bundled_build: Path, baseline: Result, tmp_path: Path) -> None:
    """A permit-everything line put first on the city edge breaks the plan's invariant that the city reaches only
    the centre's platform: reported against the invariant (from rules.json), with a counterexample."""
    rules = json.loads((bundled_build / "policy" / "rules.json").read_text(encoding="utf-8"))
    if not any(i["name"] == "city-reaches-only-the-platform" for i in rules.get("invariants") or []):
        pytest.skip("this build's rules.json carries no invariant city-reaches-only-the-platform")
    assert not [d for d in baseline.differences if d["kind"] == "invariant-violated"]

    def change(text: str) -> str:
        return text.replace("ip access-list extended CN-FROM-CITY\n",
                            "ip access-list extended CN-FROM-CITY\n 1 permit ip any any\n", 1)

    res = Checker(BuildReader(mutate(bundled_build, tmp_path, "yx-city-1", change), allow_modified=True)).run()
    hits = [d for d in res.differences if d.get("invariant") == "city-reaches-only-the-platform"]
    assert hits and "yx-city-1 CN-FROM-CITY line 1" in " ".join(hits[0]["explain"]), [
        (d["kind"], d.get("invariant")) for d in res.differences]
