"""Stable addressing: add, remove and reorder never move anyone else; the lock and pins behave."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from countynet.ipam import lock as lockfile
from countynet.ipam.allocator import AddressPlan, SlotPlan
from countynet.outputs.pipeline import compile_topology
from countynet.topology.models import Pool, Pools
from tests.conftest import ROOT, edit


def flat(lock: dict) -> dict[str, str]:
    return {f"{s}.{g}.{o}": str(v) for s in ("addresses", "ports", "vlans", "lags")
            for g, e in lock[s].items() for o, v in e.items()}


def moved(before: dict, after: dict) -> dict[str, tuple[str, str]]:
    a, b = flat(before), flat(after)
    return {k: (a[k], b[k]) for k in a.keys() & b.keys() if a[k] != b[k]}


def rebuild(topo: Path) -> dict:
    r = compile_topology(topo)
    lockfile.write(topo, r.lock)
    return r.lock


def test_bundled_lock_is_current(bundled) -> None:
    assert flat(bundled.lock) == flat(bundled.old_lock), "run `countynet build` and commit the lock"


LUXI = ("  - {id: luxi, code: \"360830103201\", name_zh: 芦溪村, pinyin: luxi, attach: leased, "
        "source: sourced}\n")
HOUTIAN = ("  - {id: houtian, code: \"360830105203\", name_zh: 厚田村, pinyin: houtian, attach: leased, "
           "source: sourced}\n")


def test_adding_a_village_in_the_middle_moves_nobody(topo_copy: Path, bundled) -> None:
    edit(topo_copy / "townships/litian.yaml", LUXI,
         LUXI + "  - {id: dongmen, attach: vpn}\n  - {id: ximen, attach: vpn}\n")
    after = rebuild(topo_copy)
    assert moved(bundled.lock, after) == {}
    new = set(flat(after)) - set(flat(bundled.lock))
    assert any("litian/dongmen" in k for k in new) and any("litian/ximen" in k for k in new)


def test_removing_a_unit_and_a_village_frees_only_theirs(topo_copy: Path, bundled) -> None:
    text = (topo_copy / "units.yaml").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("  - {id: health,"))
    edit(topo_copy / "units.yaml", line + "\n", "")
    edit(topo_copy / "townships/shashi.yaml", HOUTIAN, "")
    after = rebuild(topo_copy)
    assert moved(bundled.lock, after) == {}
    gone = set(flat(bundled.lock)) - set(flat(after))
    assert gone and all("health" in k or "shashi/houtian" in k or "yx-shashi-houtian" in k for k in gone), gone


def test_reordering_files_and_lists_changes_nothing_even_without_a_lock(topo_copy: Path) -> None:
    (topo_copy / "addresses.lock.yaml").unlink()
    first = compile_topology(topo_copy).lock
    path = topo_copy / "townships/yange.yaml"
    head, _, body = path.read_text(encoding="utf-8").partition("villages:\n")
    lines = body.splitlines(keepends=True)
    path.write_text(head + "villages:\n" + "".join(reversed(lines)), encoding="utf-8")
    units = topo_copy / "units.yaml"
    head, _, body = units.read_text(encoding="utf-8").partition("units:\n")
    units.write_text(head + "units:\n" + "".join(reversed(body.splitlines(keepends=True))), encoding="utf-8")
    assert flat(compile_topology(topo_copy).lock) == flat(first)


def test_adding_a_township_moves_nobody(topo_copy: Path, bundled) -> None:
    src = (topo_copy / "townships/zaizhong.yaml").read_text(encoding="utf-8")
    new = src.replace("id: zaizhong", "id: xincun").replace("area: 15", "area: 40")
    (topo_copy / "townships/xincun.yaml").write_text(new, encoding="utf-8")
    after = rebuild(topo_copy)
    assert moved(bundled.lock, after) == {}
    assert "xincun" in after["addresses"]["village_block"]


def test_validate_locked_fails_when_the_lock_would_change(topo_copy: Path) -> None:
    cmd = [sys.executable, "-m", "countynet", "validate", str(topo_copy), "--locked"]
    edit(topo_copy / "townships/litian.yaml", LUXI,
         LUXI + "  - {id: v99, attach: vpn}\n")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "lock file is out of date" in proc.stderr and "litian/v99" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_manual_pin_wins_over_the_lock(topo_copy: Path, bundled) -> None:
    old = bundled.lock["addresses"]["unit_lan"]["finance"]
    edit(topo_copy / "units.yaml", "{id: finance, name_zh: 县财政局,",
         "{id: finance, lan_prefix: 10.30.63.192/26, name_zh: 县财政局,")
    after = compile_topology(topo_copy).lock
    assert old != "10.30.63.192/26"
    assert after["addresses"]["unit_lan"]["finance"] == "10.30.63.192/26"
    changed = moved(bundled.lock, after)
    assert set(changed) == {"addresses.unit_lan.finance"}


def _pools(**over: Pool) -> Pools:
    base = {k: Pool(prefix=f"10.{i}.0.0/16", length=24) for i, k in enumerate(Pools.model_fields)}
    base.update(over)
    return Pools(**base)


def test_exhausted_pool_names_the_owner_left_out() -> None:
    plan = AddressPlan(_pools(p2p=Pool(prefix="10.99.0.0/29", length=30)))
    for owner in ("a", "b", "c"):
        plan.request("p2p", owner)
    plan.resolve()
    assert plan.result["p2p"] == {"a": "10.99.0.0/30", "b": "10.99.0.4/30"}
    assert [p.owner for p in plan.problems] == ["c"] and "exhausted" in plan.problems[0].message


def test_locked_entry_that_no_longer_fits_is_reallocated() -> None:
    pools = _pools(p2p=Pool(prefix="10.99.0.0/24", length=30))
    plan = AddressPlan(pools, {"p2p": {"a": "10.98.0.0/30", "b": "10.99.0.8/30"}})
    plan.request("p2p", "a")
    plan.request("p2p", "b")
    out = plan.resolve()["p2p"]
    assert out["b"] == "10.99.0.8/30" and out["a"] == "10.99.0.0/30"


def test_ports_are_stable_and_exhaustion_is_reported() -> None:
    slots = SlotPlan({"r1": {"x": "p3"}})
    for owner in ("y", "x", "z", "w"):
        slots.request("r1", owner, ["p1", "p2", "p3"])
    res = slots.resolve()["r1"]
    assert res["x"] == "p3" and {res["w"], res["y"]} == {"p1", "p2"}
    assert len(slots.problems) == 1 and "no free slot" in slots.problems[0].message


@pytest.mark.parametrize(("pool", "block"), [("village_lan", "village_block"),
                                           ("township_link", "township_link_block"),
                                           ("township_lan", "township_lan_block")])
def test_township_addresses_sit_inside_their_township_block(bundled, pool: str, block: str) -> None:
    import ipaddress

    blocks = {k: ipaddress.ip_network(v) for k, v in bundled.lock["addresses"][block].items()}
    for owner, prefix in bundled.lock["addresses"][pool].items():
        tw = owner.removeprefix("uplink:village:").removeprefix("yx-").split("/")[0].split(":")[0]
        tw = tw.split("-rt1")[0]
        assert ipaddress.ip_network(prefix).subnet_of(blocks[tw]), (owner, prefix)
