"""Freed addresses are held before reuse (issue 13, part 3): a removed village's addresses go to `freed:` in
the lock with the date, no new owner gets them in that change or until the hold ends, the same owner coming
back gets them again, and after the hold they are free."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from countynet.ipam import hold
from countynet.ipam import lock as lockfile
from countynet.outputs.pipeline import compile_topology
from tests.conftest import ROOT, edit

BAILU = ('  - {id: bailu, code: "360830101208", name_zh: 白鹭村, pinyin: bailu, attach: vpn, '
         'source: sourced}\n')


def rebuild(topo: Path, day: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv(hold.TODAY_ENV, day)
    r = compile_topology(topo)
    lockfile.write(topo, r.lock)
    return r.lock


def _village(lock: dict, tw: str, vid: str) -> dict[str, str]:
    keys = {f"{tw}/{vid}", f"yx-{tw}-{vid}", f"uplink:village:{tw}/{vid}"}
    return {pool: p for pool, e in lock["addresses"].items() for k, p in e.items() if k in keys}


def test_removed_village_is_held_and_not_reused_in_the_same_change(topo_copy: Path, bundled,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before = _village(bundled.lock, "shiqiao", "bailu")
    assert set(before) == {"loopback", "village_lan", "broadband", "tunnel"}
    # remove bailu and add two new villages (one in the same township) in the same change
    edit(topo_copy / "townships/shiqiao.yaml", BAILU, "  - {id: newa, attach: leased}\n")
    edit(topo_copy / "townships/litian.yaml", "villages:\n", "villages:\n  - {id: newb, attach: vpn}\n")
    after = rebuild(topo_copy, "2026-12-01", monkeypatch)
    freed = after["freed"]
    for pool, prefix in before.items():
        assert freed[pool][prefix]["owner"].endswith("shiqiao/bailu") or freed[pool][prefix]["owner"] == \
            "yx-shiqiao-bailu"
        assert freed[pool][prefix]["freed"] == "2026-12-01" and freed[pool][prefix]["until"] == "2027-03-01"
    given = {(pool, p) for pool, e in after["addresses"].items() for p in e.values()}
    assert not {(pool, p) for pool, p in before.items()} & given, "a freed address was reused in the change"
    # a later change within the hold: still not given to a newcomer
    edit(topo_copy / "townships/shiqiao.yaml", "  - {id: newa, attach: leased}\n",
         "  - {id: newa, attach: leased}\n  - {id: newc, attach: leased}\n")
    later = rebuild(topo_copy, "2027-02-28", monkeypatch)
    given = {(pool, p) for pool, e in later["addresses"].items() for p in e.values()}
    assert not {(pool, p) for pool, p in before.items()} & given
    assert all(p in later["freed"][pool] for pool, p in before.items())
    # the hold ends: the entries leave the section (the prefixes are free again)
    expired = rebuild(topo_copy, "2027-03-01", monkeypatch)
    assert not any(p in expired.get("freed", {}).get(pool, {}) for pool, p in before.items())


def test_an_owner_back_within_its_hold_gets_its_addresses_again(topo_copy: Path, bundled,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = _village(bundled.lock, "shiqiao", "bailu")
    edit(topo_copy / "townships/shiqiao.yaml", BAILU, "")
    rebuild(topo_copy, "2026-12-01", monkeypatch)
    edit(topo_copy / "townships/shiqiao.yaml", "villages:\n", "villages:\n" + BAILU)
    back = rebuild(topo_copy, "2026-12-20", monkeypatch)
    assert _village(back, "shiqiao", "bailu") == before
    assert not any(p in back.get("freed", {}).get(pool, {}) for pool, p in before.items())


def test_the_bundled_lock_holds_the_placeholders_removed_for_the_2023_counts(bundled) -> None:
    freed = bundled.old_lock["freed"]
    owners = {info["owner"] for e in freed.values() for info in e.values()}
    assert "yx-aonan-v05" in owners and "aonan/v05" in owners  # aonan: 9 placeholders, 4 real villages
    assert sum(len(e) for e in freed.values()) == 68
    given = {p for e in bundled.lock["addresses"].values() for p in e.values()}
    assert not {p for e in freed.values() for p in e} & given


def test_a_malformed_freed_section_is_a_located_error(topo_copy: Path) -> None:
    path = topo_copy / "addresses.lock.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["freed"] = {"loopback": ["10.30.0.6/32"]}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "countynet", "build", str(topo_copy), "--out",
                           str(topo_copy.parent / "build")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "freed" in proc.stdout + proc.stderr
    assert path.read_text(encoding="utf-8") == before


def test_validate_locked_reports_holds_that_ended(topo_copy: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", hold.TODAY_ENV: "2027-03-02"}
    proc = subprocess.run([sys.executable, "-m", "countynet", "validate", "--locked", str(topo_copy)],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode != 0 and "hold ended" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    env[hold.TODAY_ENV] = "2027-02-28"
    proc = subprocess.run([sys.executable, "-m", "countynet", "validate", "--locked", str(topo_copy)],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
