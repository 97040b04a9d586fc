"""`countynet review`: a change that adds a village, moves one to another township and narrows a rule shows all
three (devices, addresses, policy, diagrams, diffs), in the HTML page, the Markdown and a real headless browser.

The change is made on a copy of the bundled topology in a throw-away git repository: the copy is committed,
then changed, built with `countynet build`, and reviewed with `countynet review --against HEAD` (the CLI
builds HEAD's topology itself), exactly as an engineer would.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from countynet.review.compare import address_changes, permits, rule_changes

ROOT = Path(__file__).resolve().parent.parent
NEW_VILLAGE = {"id": "xinzhuang", "name_zh": "新庄村", "attach": "leased"}
NARROWED = "lans-to-mail"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "countynet", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=900)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=review@test", "-c", "user.name=review", *args],
                   check=True, capture_output=True)


@dataclass
class Change:
    repo: Path
    out: Path
    added: str        # host of the new village
    moved_from: str   # host of the moved village before
    moved_to: str     # ... and after
    lost_service: str
    rule_before: dict[str, Any]
    data: dict[str, Any]
    html: str
    md: str


def _free_code(township: dict[str, Any]) -> str:
    used = {v.get("code") for v in township["villages"]}
    return next(c for c in (f"{township['code']}{n}" for n in range(299, 200, -1)) if c not in used)


def _change_topology(topo: Path) -> tuple[str, str, str, str, dict[str, Any]]:
    tw = topo / "townships"
    files = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(tw.glob("*.yaml"))}
    src = max(files, key=lambda t: (len(files[t]["villages"]), t))
    dst = min(files, key=lambda t: (len(files[t]["villages"]), t))
    addto = sorted(t for t in files if t not in (src, dst))[0]
    moved = files[src]["villages"].pop()
    assert moved["id"] not in {v["id"] for v in files[dst]["villages"]}
    if files[dst].get("code"):    # a village that changes township gets a code of its new township
        moved["code"] = _free_code(files[dst])
    files[dst]["villages"].append(moved)
    new = dict(NEW_VILLAGE)
    if files[addto].get("code"):
        new.update(code=_free_code(files[addto]), pinyin=new["id"])
    files[addto]["villages"].append(new)
    for t in (src, dst, addto):
        (tw / f"{t}.yaml").write_text(yaml.safe_dump(files[t], allow_unicode=True, sort_keys=False), encoding="utf-8")
    policy_file = topo / "policy.yaml"
    policy = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    rule = next(r for r in policy["rules"] if r["name"] == NARROWED)
    before = json.loads(json.dumps(rule, default=str))
    lost = rule["services"][0]
    text = policy_file.read_text(encoding="utf-8")
    line = re.search(r"^\s*services: \[" + re.escape(", ".join(rule["services"])) + r"\]\s*$", text, re.M)
    assert line, "the narrowed rule's services line"
    narrowed = line.group(0).replace(f"{lost}, ", "", 1)
    policy_file.write_text(text[:line.start()] + narrowed + text[line.end():], encoding="utf-8")
    return f"yx-{addto}-{NEW_VILLAGE['id']}", f"yx-{src}-{moved['id']}", f"yx-{dst}-{moved['id']}", lost, before


@pytest.fixture(scope="module")
def change(tmp_path_factory: pytest.TempPathFactory) -> Change:
    repo = tmp_path_factory.mktemp("review")
    shutil.copytree(ROOT / "topology", repo / "topology")
    git(repo, "init", "-q")
    git(repo, "add", "topology")
    git(repo, "commit", "-q", "-m", "before")
    added, moved_from, moved_to, lost, rule = _change_topology(repo / "topology")
    res = cli("build", "topology", "--out", "build", cwd=repo)
    assert res.returncode == 0, res.stdout + res.stderr
    res = cli("review", "--against", "HEAD", "--build", "build", cwd=repo)
    assert res.returncode == 0, res.stdout + res.stderr
    out = repo / "build" / "reports" / "review"
    print(f"review page: {out / 'review.html'}")
    return Change(repo, out, added, moved_from, moved_to, lost, rule,
                  json.loads((out / "review.json").read_text(encoding="utf-8")),
                  (out / "review.html").read_text(encoding="utf-8"), (out / "review.md").read_text(encoding="utf-8"))


def _devices(data: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {d["host"]: d for d in data["devices"] if d["kind"] == kind}


def test_added_village_is_listed_with_its_site_and_config(change: Change) -> None:
    added = _devices(change.data, "added")
    assert list(added) == [change.added]
    dev = added[change.added]
    assert dev["after"]["role"] == "village_cpe" and dev["after"]["site_name"]
    assert dev["added"] > 0 and dev["removed"] == 0   # its whole configuration is new
    assert change.data["summary"]["added"] == 1


def test_moved_village_is_one_move_with_both_names_and_townships(change: Change) -> None:
    moved = _devices(change.data, "moved")
    assert list(moved) == [change.moved_to], "a move, not a removal plus an addition"
    m = moved[change.moved_to]
    assert m["old_host"] == change.moved_from
    assert m["before"]["township"] != m["after"]["township"]
    assert m["before"]["site_name"] != m["after"]["site_name"]
    assert _devices(change.data, "removed") == {}


def test_freed_addresses_reused_in_the_same_change_are_flagged(change: Change) -> None:
    rows = {a["key"]: a for a in change.data["addresses"]}
    freed = [a for a in rows.values() if a["kind"] == "freed" and change.moved_from in a["key"]]
    assert freed, "the moved village's old loopback is freed"
    for a in rows.values():       # every reuse points at a freed (or moved) entry with an overlapping value
        for src in a["reuses"]:
            assert rows[src]["kind"] in ("freed", "moved") and a["key"] in rows[src]["reused_by"]
    assert change.data["summary"]["reused"] == sum(1 for a in rows.values() if a["reuses"])


def test_narrowed_rule_lists_every_lost_permit_with_owner_reason_expiry(change: Change) -> None:
    rules = {r["name"]: r for r in change.data["rules"]}
    assert list(rules) == [NARROWED]
    r = rules[NARROWED]
    assert r["kind"] == "changed" and r["lost"]["services"] == [change.lost_service]
    assert r["owner"] == change.rule_before["owner"] and r["reason"] == change.rule_before["reason"]
    hosts = change.rule_before.get("destination_hosts") or ["(every host of the zones)"]
    expected = len(change.rule_before["from"]) * len(change.rule_before["to"]) * len(hosts)
    assert len(r["permits_lost"]) >= expected   # every (from, to, host) for each port of the lost service
    assert not r["permits_gained"]
    assert all(any(f" {port}" in p for port in r["lost"]["ports"]) for p in r["permits_lost"])
    assert change.data["policy_note"], "says whether the policy diff is exhaustive"


def test_exhaustive_diff_shows_the_lost_traffic_or_says_why_not(change: Change) -> None:
    """verify's symbolic engine compares every packet of both builds: the narrowed rule's lost port is a
    removed region; when the engine cannot read a build, the page says the diff is not exhaustive."""
    regions = change.data["regions"]
    if not regions:
        print(f"exhaustive diff not run: {change.data['policy_note']}")
        assert "could not run" in change.data["policy_note"] or "not available" in change.data["policy_note"]
        return
    assert change.data["policy_note"].startswith("穷举差异："), change.data["policy_note"]
    (rule,) = change.data["rules"]
    ports = [p.split("/")[1] for p in rule["lost"]["ports"]]
    lost = [r for r in regions if r["change"] == "removed" and r["rule"] == NARROWED]
    assert lost and all(any(f"/{port}" in r["regions"] for r in lost) for port in ports), lost
    assert "不再探测" not in change.data["policy_note"]


def test_markdown_carries_the_same_changes(change: Change) -> None:
    for text in (change.added, change.moved_to, change.moved_from, NARROWED, change.rule_before["owner"]):
        assert text in change.md
    assert "```diff" in change.md and "新增 added" in change.md and "迁移 moved" in change.md


def test_page_is_self_contained(change: Change) -> None:
    page = change.html
    assert "default-src 'none'" in page
    for bad in ("<script", "<link", "<iframe", "src=", "@import", "url("):
        assert bad not in page, bad
    # the only URLs are XML namespace names inside the inline SVG, which nothing fetches
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    assert page.count("<svg") >= 1 + 23   # the county and every township at least


def test_diagrams_mark_the_changed_parts(change: Change) -> None:
    diagrams = change.out / "diagrams"
    county = html.unescape((diagrams / "county-county.svg").read_text(encoding="utf-8"))
    assert "#1a7f37" in county and "#bf8700" in county   # a township with an addition, one with a move
    tw_new = change.added.split("-")[1]
    svg = html.unescape((diagrams / f"township-{tw_new}.svg").read_text(encoding="utf-8"))
    assert f"node-{change.added}" in svg and "#1a7f37" in svg
    src = change.moved_from.split("-")[1]
    svg = html.unescape((diagrams / f"township-{src}.svg").read_text(encoding="utf-8"))
    assert change.moved_from in svg and "moved out" in svg


# --------------------------------------------------------------------------------------- headless browser


def _chrome() -> Any:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print("SKIP: selenium is not installed (pip install -e '.[dev]')")
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        print("SKIP: Debian's chromium and chromium-driver are not installed (scripts/lab-packages.txt)")
        pytest.skip("chromium / chromium-driver not installed (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
              "--disable-background-networking", "--no-first-run"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_page_in_headless_chromium(change: Change, tmp_path_factory: pytest.TempPathFactory) -> None:
    from selenium.webdriver.common.by import By

    shots = tmp_path_factory.mktemp("review-screenshots")
    browser = _chrome()
    try:
        browser.get((change.out / "review.html").as_uri())
        assert "Change review" in browser.title
        for host, kind in ((change.added, "added"), (change.moved_to, "moved")):
            rows = browser.find_elements(By.CSS_SELECTOR, f'#device-changes tr[data-host="{host}"][data-kind="{kind}"]')
            assert len(rows) == 1, (host, kind)
            assert rows[0].is_displayed()
        assert change.moved_from in browser.find_element(
            By.CSS_SELECTOR, f'#device-changes tr[data-host="{change.moved_to}"]').text
        rule = browser.find_element(By.CSS_SELECTOR, f'#rule-changes tr[data-rule="{NARROWED}"]')
        assert change.lost_service in rule.text and change.rule_before["owner"] in rule.text
        lost = browser.find_elements(By.CSS_SELECTOR, f'details.permits[data-rule="{NARROWED}"] li[data-permit="lost"]')
        assert len(lost) == len(change.data["rules"][0]["permits_lost"])
        # the diagrams are in the DOM as SVG, with the new village's node
        assert browser.find_elements(By.CSS_SELECTOR, f'svg g[id="node-{change.added}"]')
        warned = bool(browser.find_elements(By.CSS_SELECTOR, "#reuse-warning"))
        assert warned == (change.data["summary"]["reused"] > 0)
        browser.save_screenshot(str(shots / "review-top.png"))
        browser.execute_script("document.getElementById('diagrams').scrollIntoView()")
        browser.save_screenshot(str(shots / "review-diagrams.png"))
        errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
        assert errors == [], errors
    finally:
        browser.quit()
    print(f"screenshots: {shots}")
    assert (shots / "review-top.png").stat().st_size > 10_000


# ---------------------------------------------------------------------------------------------- bad input


def test_unknown_ref_is_exit_2_without_traceback(change: Change) -> None:
    res = cli("review", "--against", "no-such-ref", "--build", "build", "--out", str(change.repo / "r2"),
              cwd=change.repo)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "no-such-ref" in res.stderr and "Traceback" not in res.stderr
    assert not (change.repo / "r2").exists(), "nothing written"


def test_review_without_a_build_is_exit_2(tmp_path: Path) -> None:
    res = cli("review", "--build", str(tmp_path / "nothing"), cwd=tmp_path)
    assert res.returncode == 2 and "no countynet build here" in res.stderr and "Traceback" not in res.stderr


# ---------------------------------------------------------------------------------------------- pure parts


def test_address_reuse_is_found_by_overlap_not_only_equality() -> None:
    old = {"addresses": {"loopback": {"a": "10.0.0.1/32"}, "village_lan": {"x/v1": "10.1.0.0/28"}}}
    new = {"addresses": {"loopback": {"b": "10.0.0.1/32"}, "village_lan": {"y/v9": "10.1.0.0/29"}}}
    rows = {a.key: a for a in address_changes(old, new)}
    assert rows["addresses.loopback.a"].reused_by == ["addresses.loopback.b"]
    assert rows["addresses.village_lan.y/v9"].reuses == ["addresses.village_lan.x/v1"]
    assert rows["addresses.loopback.b"].kind == "new"


def test_rule_changes_list_every_permit_gained_and_lost() -> None:
    base = {"name": "r", "from": ["a", "b"], "to": ["s"], "services": ["https", "ssh"], "owner": "o", "reason": "why",
            "expires": "2027-01-01", "destination_hosts": ["h1", "h2"],
            "ports": [{"protocol": "tcp", "low": 443, "high": 443}, {"protocol": "tcp", "low": 22, "high": 22}]}
    narrowed = {**base, "services": ["https"], "ports": [base["ports"][0]], "destination_hosts": ["h1"]}
    (c,) = rule_changes({"rules": [base]}, {"rules": [narrowed]})
    assert c.lost["services"] == ["ssh"] and c.lost["destination_hosts"] == ["h2"] and c.expires == "2027-01-01"
    assert len(permits(base)) == 8 and len(c.permits_lost) == 8 - 2 and c.permits_gained == []
    (gone,) = rule_changes({"rules": [base]}, {"rules": []})
    assert gone.kind == "removed" and len(gone.permits_lost) == 8 and gone.owner == "o"


def test_an_address_that_moves_with_its_device_is_not_a_reuse() -> None:
    old = {"addresses": {"loopback": {"yx-a-v1": "10.0.0.1/32", "yx-a-v2": "10.0.0.2/32"},
                         "tunnel": {"a/v1": "10.8.0.0/30"}}}
    new = {"addresses": {"loopback": {"yx-b-v1": "10.0.0.1/32", "yx-c-new": "10.0.0.2/32"},
                         "tunnel": {"b/v1": "10.8.0.0/30"}}}
    rows = {a.key: a for a in address_changes(old, new, {"yx-a-v1": "yx-b-v1", "a/v1": "b/v1"})}
    assert rows["addresses.loopback.yx-b-v1"].same_device == "addresses.loopback.yx-a-v1"
    assert rows["addresses.loopback.yx-b-v1"].reuses == [] and rows["addresses.tunnel.b/v1"].reuses == []
    assert rows["addresses.loopback.yx-c-new"].reuses == ["addresses.loopback.yx-a-v2"]   # another device: flagged


def test_markdown_stays_within_a_job_summary_for_a_large_change() -> None:
    """GitHub keeps at most 1 MiB of job summary: long tables are cut in the Markdown, with a pointer to the page."""
    from countynet.review import page
    from countynet.review.compare import Review

    old = {"addresses": {"loopback": {f"yx-a-v{i}": f"10.0.{i // 250}.{i % 250}/32" for i in range(2000)}}}
    rows = address_changes(old, {})
    rev = Review("a", "b", {}, {}, [], rows, [], [])
    md = page.markdown(rev)
    assert len(md.encode()) < 1_048_576 and f"{2000 - page.MD_ROWS} more row(s)" in md
    assert page.html(rev).count("data-kind=\"freed\"") == 2000   # the page keeps every row


def test_freed_addresses_show_their_hold_and_ended_holds_are_listed() -> None:
    old = {"addresses": {"loopback": {"yx-a-v1": "10.0.0.1/32"}},
           "freed": {"loopback": {"10.0.0.9/32": {"owner": "yx-a-v9", "freed": "2026-01-01", "until": "2026-04-01"}}}}
    new = {"addresses": {"loopback": {}},
           "freed": {"loopback": {"10.0.0.1/32": {"owner": "yx-a-v1", "freed": "2026-12-01", "until": "2027-03-01"}}}}
    rows = {a.key: a for a in address_changes(old, new)}
    assert rows["addresses.loopback.yx-a-v1"].held_until == "2027-03-01"
    assert rows["freed.loopback.10.0.0.9/32"].kind == "hold-ended"
