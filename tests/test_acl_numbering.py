"""Stable ACL rule numbers with room, and every Huawei/H3C/Cisco ACL line traceable to its rule (issue 13, part 3).

Before: lines were numbered 5, 10, 15, ... by position, so one inserted policy rule renumbered every later
line on every switch, and Huawei/H3C lines carried no rule name. Now the numbers live in
`topology/acl-numbers.lock.yaml` (countynet.intent.policy.numbering) and each VRP/Comware line is followed by
`rule N description|comment <rule>`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from countynet import platforms
from countynet.intent.policy import numbering
from countynet.intent.policy.numbering import assign, fresh
from countynet.ipam import lock as lockfile
from countynet.outputs.pipeline import compile_topology, render
from countynet.platforms.registry import Acl
from tests.conftest import ROOT, edit

NEW_SERVICE = "  newapp: {ports: [tcp/9443], description: \"test: a service no other rule opens\"}\n"
NEW_RULE = """  - name: lans-to-newapp
    from: [compound, training, unit-lan, township-lan, village-lan]
    to: [servers]
    services: [newapp]
    destination_hosts: [yx-oa-1]
    owner: 县信息中心
    reason: "test: a rule inserted in the middle of the list"
"""
# a rule of the middle of the bundled list whose lines no other rule repeats (udp/53 and tcp/53 to the DNS server)
REMOVED = "lans-to-dns"


def _settle(topo: Path):
    """Compile `topo`, then write both locks as `countynet build` would: the starting point of a change."""
    r = compile_topology(topo)
    lockfile.write(topo, r.lock)
    numbering.write(topo, r.acl_lock)
    return r


def _insert_rule(topo: Path) -> None:
    edit(topo / "policy.yaml", "services:\n", "services:\n" + NEW_SERVICE)
    edit(topo / "policy.yaml", "  - name: lans-to-mail\n", NEW_RULE + "  - name: lans-to-mail\n")


def _numbers(r) -> dict[tuple[str, str, str], tuple[int, str]]:
    """(host, filter, key) -> (number, remark) of every compiled line."""
    out = {}
    for host, d in r.intents.items():
        for f in d.filters:
            for rule, key in zip(f.rules, numbering.unique_keys(f.rules), strict=True):
                out[(host, f.name, key)] = (rule.seq, rule.remark)
    return out


ACL = Acl(rule_min=0, rule_max=65534, step=10, room=200, note_chars=127)


# ----------------------------------------------------------------------------------------- the allocator

def test_fresh_numbers_leave_room_between_policy_rules() -> None:
    nums = fresh(["dhcp", "dhcp", "a", "a", "a", "b", "deny"], ACL)
    assert nums == [10, 20, 220, 230, 240, 440, 640]


def test_fresh_numbers_shrink_the_room_to_fit_the_range_and_refuse_what_cannot_fit() -> None:
    small = Acl(rule_min=0, rule_max=100, step=10, room=200, note_chars=0)
    nums = fresh([str(i) for i in range(20)], small)
    assert nums is not None and nums == sorted(set(nums)) and nums[-1] <= 100
    assert fresh([str(i) for i in range(102)], small) is None


def test_an_inserted_run_takes_free_numbers_between_its_neighbours() -> None:
    old = {"a1": 10, "a2": 20, "b1": 220, "z": 420}
    got = assign(old, ["a1", "a2", "n1", "n2", "n3", "b1", "z"], ["a", "a", "n", "n", "n", "b", "z"], ACL)
    assert got is not None and not got.renumbered
    assert got.numbers[:2] == [10, 20] and got.numbers[5:] == [220, 420]
    assert 20 < got.numbers[2] < got.numbers[3] < got.numbers[4] < 220


def test_a_moved_line_gives_up_its_own_number_not_the_others() -> None:
    old = {"a": 10, "b": 20, "c": 30, "d": 40}
    got = assign(old, ["a", "c", "d", "b"], ["a", "c", "d", "b"], ACL)
    assert got is not None and got.numbers[:3] == [10, 30, 40] and got.numbers[3] > 40


def test_no_room_renumbers_the_filter_and_says_where() -> None:
    old = {"a": 10, "b": 11}
    got = assign(old, ["a", "n1", "n2", "b"], ["a", "n", "n", "b"], ACL)
    assert got is not None and got.renumbered
    assert "between rule 10 and rule 11" in got.renumbered and "2 new line(s)" in got.renumbered
    assert got.numbers == fresh(["a", "n", "n", "b"], ACL)


def test_number_limits_come_from_the_platform_registry() -> None:
    assert platforms.flavour("h3c_comware7").acl.rule_max == 65534
    assert platforms.flavour("huawei_vrp8_ce").acl.rule_max == 4294967294
    assert platforms.flavour("huawei_vrp5").acl.rule_max == 4294967294
    assert platforms.flavour("cisco_iosxe").acl.rule_min == 1
    assert platforms.flavour("cisco_iosxe").acl.rule_max == 2147483647
    src = (ROOT / "countynet/intent/policy/numbering.py").read_text(encoding="utf-8")
    assert not re.search(r"65534|4294967294|2147483647", src.split('"""', 2)[2])


def test_the_lock_text_reads_back_as_written(tmp_path: Path) -> None:
    numbers = {"yx-a": {"CN-FROM-X-1": {"permit udp 0.0.0.0/32 255.255.255.255/32 dport 67": 10,
                                        "deny ip 0.0.0.0/0 0.0.0.0/0": 4294967294, "permit ip a b #2": 20}},
               "yes": {"on": {"permit icmp 10.0.0.0/8 10.0.0.1/32 type 8 code 0": 0}}}
    assert numbering.write(tmp_path, numbers) and not numbering.write(tmp_path, numbers)
    got, problems = numbering.read(tmp_path)
    assert problems == [] and got.old == numbers
    text = (tmp_path / numbering.LOCK_NAME).read_text(encoding="utf-8")
    line = text.splitlines().index("      20 permit ip a b #2") + 1
    assert got.lines[("yx-a", "CN-FROM-X-1", "permit ip a b #2")] == line
    assert numbering.read(tmp_path / "missing")[0].old == {}


# ------------------------------------------------------------------------------------------ whole builds

def test_inserting_a_rule_changes_only_its_own_lines_on_every_device(topo_copy: Path) -> None:
    before = _numbers(_settle(topo_copy))
    _insert_rule(topo_copy)
    r = compile_topology(topo_copy)
    after = _numbers(r)
    assert not [w for w in r.warnings if "renumbered" in w.message]
    moved = {k: (before[k][0], after[k][0]) for k in before.keys() & after.keys() if before[k][0] != after[k][0]}
    assert moved == {}, f"{len(moved)} lines renumbered, e.g. {next(iter(moved.items()))}"
    gone = before.keys() - after.keys()
    assert gone == set()
    new = after.keys() - before.keys()
    assert new and {after[k][1] for k in new} <= {"lans-to-newapp", "lans-to-newapp (replies)"}
    # every township switch (23) and the cores gain the rule, and nothing else changes on them
    switches = {h for h, d in r.intents.items() if d.role == "township_switch"}
    assert len(switches) >= 23 and switches <= {k[0] for k in new}
    # the rendered configurations: every ACL line of the previous build is still there, word for word
    render(r)
    for host in sorted(switches)[:3]:
        text = next(iter(r.configs[host].values()))
        assert all(f" rule {n} " in text for (h, _f, _k), (n, _) in before.items() if h == host)


def test_the_deploy_diff_of_an_inserted_rule_is_its_own_lines_only(topo_copy: Path) -> None:
    """hier_config's remediation (what deploy sends) between the configurations before and after the insertion:
    only the new rule's lines and their notes, nothing removed, no other line rewritten."""
    from countynet.deploy.diff import remediation
    from countynet.render.engine import render_device

    before = _settle(topo_copy)
    _insert_rule(topo_copy)
    after = compile_topology(topo_copy)
    hosts = {d.flavour: h for h, d in sorted(before.intents.items())
             if d.role in ("township_switch", "core") and d.filters}
    assert {"huawei_vrp5", "h3c_comware7", "huawei_vrp8_ce"} <= set(hosts)
    for flavour, host in sorted(hosts.items()):
        old = next(iter(render_device(before.intents[host]).values()))
        new = next(iter(render_device(after.intents[host]).values()))
        rem = remediation(flavour, old, new)
        body = [ln.strip() for ln in rem.text.splitlines() if ln.startswith(" ")]
        assert rem.removed == 0 and body, (host, rem.text)
        rules = [ln for ln in body if re.match(r"rule \d+ permit ", ln)]
        notes = [ln for ln in body if re.match(r"rule \d+ (?:description|comment) ", ln)]
        assert len(rules) == len(notes) == len(body) // 2, (host, rem.text)
        assert all("9443" in ln for ln in rules), (host, rem.text)
        assert all(ln.endswith(("lans-to-newapp", "lans-to-newapp replies")) for ln in notes), (host, rem.text)


def test_removing_a_rule_frees_its_numbers_without_renumbering_others(topo_copy: Path) -> None:
    before = _numbers(_settle(topo_copy))
    text = (topo_copy / "policy.yaml").read_text(encoding="utf-8")
    start = text.index(f"  - name: {REMOVED}\n")
    end = text.index("  - name: ", start + 5)
    (topo_copy / "policy.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    r = compile_topology(topo_copy)
    after = _numbers(r)
    gone = before.keys() - after.keys()
    assert gone and {before[k][1] for k in gone} <= {REMOVED, f"{REMOVED} (replies)"}
    assert after.keys() <= before.keys()
    assert all(before[k][0] == after[k][0] for k in after)
    changes = numbering.changes(r.old_acl_lock, r.acl_lock)
    assert changes and all(c.startswith("- ") and c.endswith("(freed)") for c in changes)


def test_a_filter_without_room_is_renumbered_with_a_report(topo_copy: Path) -> None:
    r = _settle(topo_copy)
    host = next(h for h, d in sorted(r.intents.items()) if d.role == "township_switch")
    fname = r.intents[host].filters[0].name
    lines = r.acl_lock[host][fname]
    packed = {k: i for i, (k, _n) in enumerate(sorted(lines.items(), key=lambda kv: kv[1]), 1)}  # 1, 2, 3 ...
    full = {**r.acl_lock, host: {**r.acl_lock[host], fname: packed}}
    numbering.write(topo_copy, full)
    _insert_rule(topo_copy)
    after = compile_topology(topo_copy)
    notes = [w for w in after.warnings if "renumbered" in w.message]
    assert [w.path for w in notes] == [f"{host}.{fname}"], [w.render() for w in notes]
    assert notes[0].severity == "warning" and "no free number between rule" in notes[0].message
    assert "acl-numbers.lock.yaml" in notes[0].render()
    nums = [x.seq for x in after.intents[host].filters[0].rules]
    assert nums == sorted(set(nums)) and nums != sorted(packed.values())
    # the report reaches the engineer running `countynet build`
    proc = subprocess.run([sys.executable, "-m", "countynet", "build", str(topo_copy), "--out",
                           str(topo_copy.parent / "build")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"{host}.{fname}: filter renumbered" in proc.stderr


def test_validate_locked_refuses_a_stale_acl_lock(topo_copy: Path) -> None:
    _settle(topo_copy)
    cmd = [sys.executable, "-m", "countynet", "validate", str(topo_copy), "--locked"]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _insert_rule(topo_copy)
    before = (topo_copy / numbering.LOCK_NAME).read_text(encoding="utf-8")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2
    assert "acl-numbers.lock.yaml: error: the ACL number lock is out of date" in proc.stderr
    assert re.search(r"\+ yx-\S+ CN-FROM-\S+ \d+ permit tcp \S+ 10\.\S+ dport 9443 \(new\)", proc.stderr)
    assert "Traceback" not in proc.stderr
    assert (topo_copy / numbering.LOCK_NAME).read_text(encoding="utf-8") == before


@pytest.mark.parametrize(("bad", "where", "what"), [
    ("      abc permit ip 0.0.0.0/0 0.0.0.0/0\n", 9, "entry must be `NUMBER KEY`"),
    ("      10 permit ip 0.0.0.0/0 0.0.0.0/0\n", 9, "number 10 appears twice"),
    ("    CN-FROM-Y-1: [10\n", 10, "not valid YAML"),  # the parser notices at the end of the file
    ("    CN-FROM-Y-1:\n    - 10 permit ip 0.0.0.0/0 0.0.0.0/0\n", 10, "must be a literal block"),
])
def test_a_bad_lock_file_is_refused_at_its_line(topo_copy: Path, bad: str, where: int, what: str) -> None:
    lock = topo_copy / numbering.LOCK_NAME
    lock.write_text(numbering.HEADER + "version: 1\nfilters:\n  yx-core-1:\n    CN-FROM-X-1: |\n"
                    "      10 permit udp 0.0.0.0/32 255.255.255.255/32 dport 67\n" + bad, encoding="utf-8")
    before = lock.read_text(encoding="utf-8")
    out = topo_copy.parent / "build"
    proc = subprocess.run([sys.executable, "-m", "countynet", "build", str(topo_copy), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert re.search(rf"acl-numbers\.lock\.yaml:{where}:\d+: error: .*{re.escape(what)}", proc.stdout + proc.stderr), \
        proc.stdout + proc.stderr
    assert "fix:" in proc.stdout + proc.stderr
    assert not out.exists() and lock.read_text(encoding="utf-8") == before


def test_a_locked_number_outside_the_platform_range_is_refused(topo_copy: Path) -> None:
    r = _settle(topo_copy)
    host = next(h for h, d in sorted(r.intents.items()) if d.platform == "h3c_comware" and d.filters)
    fname = r.intents[host].filters[0].name
    key = next(iter(r.acl_lock[host][fname]))
    r.acl_lock[host][fname][key] = 70000  # Comware's rule ids end at 65534
    numbering.write(topo_copy, r.acl_lock)
    text = (topo_copy / numbering.LOCK_NAME).read_text(encoding="utf-8")
    line = text.splitlines().index(f"      70000 {key}") + 1
    proc = subprocess.run([sys.executable, "-m", "countynet", "validate", str(topo_copy)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"acl-numbers.lock.yaml:{line}:1: error: {host}.{fname}: rule number 70000 is outside the " \
           "platform's range 0-65534" in proc.stdout + proc.stderr


# --------------------------------------------------------------------------------------- traceable lines

NOTE_WORD = {"huawei_vrp": "description", "h3c_comware": "comment"}


def test_each_vrp_and_comware_acl_line_names_its_rule(bundled_build: Path) -> None:
    amap = json.loads((bundled_build / "policy/acl-map.json").read_text(encoding="utf-8"))
    checked = {"huawei_vrp": 0, "h3c_comware": 0, "cisco_ios": 0}
    for host, dev in amap["devices"].items():
        intent = yaml.safe_load((bundled_build / "intent" / f"{host}.yaml").read_text(encoding="utf-8"))
        platform = intent["platform"]
        lines = (bundled_build / dev["file"]).read_text(encoding="utf-8").splitlines()
        limit = platforms.flavour(intent["flavour"]).acl.note_chars
        for fname, f in dev["filters"].items():
            for x in f["lines"]:
                assert x["line"] is not None, (host, fname, x)
                assert x["note"], (host, fname, x)
                assert len(x["note"]) <= limit and re.fullmatch(r"[A-Za-z0-9 -]+", x["note"])
                if x["policy_rule"]:
                    assert x["note"] in (x["policy_rule"], f"{x['policy_rule']} replies"), x
                if platform in NOTE_WORD:  # the note is the next line, with the same rule number
                    assert lines[x["line"]] == f" rule {x['seq']} {NOTE_WORD[platform]} {x['note']}", (host, x)
                checked[platform] += 1
    assert all(checked.values()), checked


def test_acl_map_lines_carry_the_locked_key_and_number(bundled_build: Path, bundled) -> None:
    """build/policy/acl-map.json: each line's `key` and `seq` are what the ACL number lock records for it."""
    amap = json.loads((bundled_build / "policy/acl-map.json").read_text(encoding="utf-8"))
    checked = 0
    for host, dev in amap["devices"].items():
        for fname, f in dev["filters"].items():
            locked = bundled.acl_lock[host][fname]
            assert {x["key"]: x["seq"] for x in f["lines"]} == locked, (host, fname)
            assert [x["seq"] for x in f["lines"]] == sorted(locked.values())
            checked += len(f["lines"])
    assert checked > 10_000
