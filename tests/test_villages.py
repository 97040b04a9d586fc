"""Real villages (issue 13, part 1): all 238 村委会 of Yongxin with their official names, 12-digit codes and
pinyin; host names from the pinyin id; renaming the placeholders v01.. moved no address; a wrong code is a
located error."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, edit

GUIDE = ROOT.parent / "shared" / "guide" / "yongxin-villages.md"
# the last commit with the placeholder villages v01..vNN (the renaming commit follows it)
BEFORE = "e44f1b0"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "countynet", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


def _guide() -> dict[str, list[tuple[str, str, str]]]:
    """township pinyin (lower case) -> [(code, 村 name, pinyin)] as the guide lists them."""
    if not GUIDE.exists():
        pytest.skip(f"the village guide {GUIDE} is not on this machine")
    out: dict[str, list[tuple[str, str, str]]] = {}
    for sec in re.split(r"\n## ", GUIDE.read_text(encoding="utf-8"))[1:]:
        tw = sec.split()[1].lower()
        out[tw] = re.findall(r"^\| (\d{12}) \| (\S+) \| ([a-z ]+?) \|", sec, re.M)
    return out


def test_every_village_carries_its_official_name_code_and_pinyin(bundled) -> None:
    guide = _guide()
    assert sum(len(v) for v in guide.values()) == 238
    towns = {tw.id: tw for tw in bundled.topology.townships}
    assert set(towns) == set(guide)
    for tid, rows in guide.items():
        tw = towns[tid]
        got = [(v.code, v.name_zh, v.pinyin) for v in tw.villages]
        assert got == list(rows), tid  # same villages, same order, same count as the 2023 codes
        assert tw.code and all(v.code and v.code.startswith(tw.code) for v in tw.villages)
        assert all(v.source == "sourced" for v in tw.villages)
    assert sum(len(tw.villages) for tw in towns.values()) == 238


def test_host_names_are_short_dns_labels_from_the_pinyin(bundled) -> None:
    villages = [d for d in bundled.intents.values() if d.role == "village_cpe"]
    assert len(villages) == 238
    assert not [d.hostname for d in villages if re.search(r"-v\d\d$", d.hostname)]  # no placeholder left
    for d in villages:
        assert re.fullmatch(r"yx-[a-z]+-[a-z]+", d.hostname) and len(d.hostname) <= 63
    assert "yx-shiqiao-bailu" in bundled.intents  # the guide's own example


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        pytest.skip(f"git history before the renaming is not available here ({proc.stderr.strip()})")
    return proc.stdout


def test_renaming_the_villages_moved_no_address(bundled) -> None:
    """Before/after per village: every placeholder that became a real village kept every address it had
    (loopback, LAN, leased-line /30, broadband, tunnel) and its ports; villages dropped to match the 2023
    count are the only ones whose entries left the lock."""
    old_lock = yaml.safe_load(_git("show", f"{BEFORE}:topology/addresses.lock.yaml"))
    new_lock = bundled.lock
    kept = dropped = 0
    for tw in bundled.topology.townships:
        old_tw = yaml.safe_load(_git("show", f"{BEFORE}:topology/townships/{tw.id}.yaml"))
        old_ids = [v["id"] for v in old_tw["villages"]]
        for i, old_id in enumerate(old_ids):
            before = _village_entries(old_lock, tw.id, old_id)
            assert before, (tw.id, old_id)
            if i >= len(tw.villages):
                assert not _village_entries(new_lock, tw.id, old_id)
                dropped += 1
                continue
            after = _village_entries(new_lock, tw.id, tw.villages[i].id)
            assert after == before, (tw.id, old_id, tw.villages[i].id)
            kept += 1
    assert kept == 218 and dropped == 20  # 20 placeholders beyond the official counts; 20 villages added


def _village_entries(lock: dict, tw: str, vid: str) -> dict[str, object]:
    """Every lock value that belongs to one village, keyed with the village id taken out."""
    out: dict[str, object] = {}
    keys = {f"{tw}/{vid}": "<v>", f"yx-{tw}-{vid}": "<host>", f"uplink:village:{tw}/{vid}": "<link>"}
    for pool, entries in lock["addresses"].items():
        for k, v in entries.items():
            if k in keys:
                out[f"addresses/{pool}/{keys[k]}"] = v
    for dev, entries in lock["ports"].items():
        for k, v in entries.items():
            if k in keys:
                out[f"ports/{keys.get(dev, dev)}/{keys[k]}"] = v
    return out


def test_a_village_code_of_another_township_is_a_located_error(topo_copy: Path) -> None:
    edit(topo_copy / "townships/shiqiao.yaml", 'code: "360830101208"', 'code: "360830102208"')
    proc = cli("validate", str(topo_copy))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    out = proc.stdout + proc.stderr
    assert "shiqiao.yaml:" in out and "360830102208" in out and "belongs to township 360830102" in out


def test_a_malformed_code_is_refused(topo_copy: Path) -> None:
    edit(topo_copy / "townships/shiqiao.yaml", 'code: "360830101208"', 'code: "36083010120"')
    proc = cli("validate", str(topo_copy))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "shiqiao.yaml:" in proc.stdout + proc.stderr


def test_show_accepts_chinese_names() -> None:
    proc = cli("show", "澧田镇", "--json")
    assert proc.returncode == 0, proc.stderr
    import json

    hosts = {d["hostname"] for d in json.loads(proc.stdout)}
    assert {"yx-litian-rt1", "yx-litian-sw1", "yx-litian-luxi"} <= hosts and len(hosts) == 2 + 26
    proc = cli("show", "白鹭村", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["hostname"] == "yx-shiqiao-bailu"
    assert json.loads(proc.stdout)["site_name"] == "石桥镇白鹭村 Shiqiao bailu (360830101208)"
    proc = cli("show", "团结村", "--json")  # three townships have a 团结村: all three, named
    assert sorted(d["hostname"] for d in json.loads(proc.stdout)) == [
        "yx-longmen-tuanjie", "yx-longtian-tuanjie", "yx-wenzhu-tuanjie"]
    proc = cli("show", "龙田乡团结村", "--json")
    assert json.loads(proc.stdout)["hostname"] == "yx-longtian-tuanjie"
    proc = cli("show", "某某村")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "某某村" in proc.stderr
