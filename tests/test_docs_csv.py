"""Documentation an auditor can use (issue 13, part 8): the index, CSV exports and the policy matrix, read
back from a real build."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
from pathlib import Path

from countynet.outputs.csv_exports import to_csv


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: no BOM (Excel/WPS on Chinese Windows garble it)"
    assert b"\r\n" in raw
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_devices_csv_lists_every_device_with_its_chinese_name(bundled_build: Path, bundled) -> None:
    rows = read_csv(bundled_build / "docs/csv/devices.csv")
    assert [r["主机名 hostname"] for r in rows] == sorted(bundled.intents)
    by_host = {r["主机名 hostname"]: r for r in rows}
    for tw in bundled.topology.townships:
        for v in tw.villages:
            r = by_host[f"yx-{tw.id}-{v.id}"]
            assert r["区划代码 division code"] == v.code and r["站点名称 site name"].startswith(tw.name_zh + v.name_zh)
            assert r["角色 role (zh)"] == "村路由器"


def test_addressing_and_cabling_agree_with_the_intent(bundled_build: Path, bundled) -> None:
    rows = read_csv(bundled_build / "docs/csv/addressing.csv")
    want = {(h, i.name, i.address) for h, d in bundled.intents.items() for i in d.interfaces if i.address}
    assert {(r["主机名 hostname"], r["接口 interface"], r["地址 address"]) for r in rows} == want
    cables = read_csv(bundled_build / "docs/csv/cabling.csv")
    ends = [(r["A端设备 A host"], r["A端接口 A port"]) for r in cables] + \
           [(r["B端设备 B host"], r["B端接口 B port"]) for r in cables]
    assert len(ends) == len(set(ends)), "a cable is listed twice"
    peered = {(h, i.name) for h, d in bundled.intents.items() for i in d.interfaces
              if i.peer and i.kind not in ("svi", "tunnel")}
    assert {e for e in ends if e in peered} == peered  # every peered port is on exactly one row
    for r in cables:
        a, b = r["A端地址 A address"], r["B端地址 B address"]
        if a and b and r["类型 kind"] == "routed":
            assert ipaddress.IPv4Interface(a).network == ipaddress.IPv4Interface(b).network, r


def test_policy_matrix_covers_every_rule_and_zone_pair(bundled_build: Path) -> None:
    rules = json.loads((bundled_build / "policy/rules.json").read_text(encoding="utf-8"))["rules"]
    rows = read_csv(bundled_build / "docs/csv/policy-matrix.csv")
    assert len(rows) == sum(len(r["from"]) * len(r["to"]) for r in rules)
    assert {r["规则 rule"] for r in rows} == {r["name"] for r in rules}
    portal = next(r for r in rules if r["name"] == "lans-to-portal")
    row = next(r for r in rows
               if r["规则 rule"] == "lans-to-portal" and r["源区域 from zone"] == "村局域网 village-lan")
    assert row["目的区域 to zone"] == "对外服务区(DMZ) dmz" and row["端口 ports"] == "tcp/80 tcp/443"
    assert row["负责人 owner"] == portal["owner"] and row["理由 reason"] == portal["reason"]
    md = (bundled_build / "docs/policy-matrix.md").read_text(encoding="utf-8")
    assert md.startswith("# 安全策略矩阵 Policy matrix")
    line = next(ln for ln in md.splitlines() if ln.startswith("| 村局域网 `village-lan` |"))
    cells = [c.strip() for c in line.strip("|").split("|")][1:]
    header = next(ln for ln in md.splitlines() if ln.startswith("| 源 "))
    zones = re.findall(r"`([a-z-]+)`", header)
    assert "http https" in cells[zones.index("dmz")]
    assert cells[zones.index("township-lan")] == "·"  # no village-to-township rule: default deny
    for inv in json.loads((bundled_build / "policy/rules.json").read_text(encoding="utf-8"))["invariants"]:
        assert f"| {inv['name']} |" in md


def test_index_links_resolve_and_name_every_village(bundled_build: Path, bundled) -> None:
    index = (bundled_build / "docs/index.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)]+)\)", index)
    assert len(targets) > 361
    for t in targets:
        assert (bundled_build / "docs" / t).is_file(), t
    for tw in bundled.topology.townships:
        assert f"### {tw.name_zh} {tw.pinyin} ({tw.code})" in index
        for v in tw.villages:
            assert f"| {v.name_zh} {v.pinyin} | {v.code} | [yx-{tw.id}-{v.id}]" in index
    manifest = json.loads((bundled_build / "manifest.json").read_text(encoding="utf-8"))
    listed = json.dumps(manifest)
    for name in ("docs/index.md", "docs/policy-matrix.md", "docs/csv/devices.csv", "docs/csv/cabling.csv"):
        assert name in listed


def test_csv_quotes_what_would_split_a_field() -> None:
    text = to_csv(["a", "b"], [['村, "东"', "x\r\ny"]])
    assert list(csv.reader(io.StringIO(text[1:], newline=""))) == [["a", "b"], ['村, "东"', "x\r\ny"]]


def test_acl_map_traces_every_acl_line_to_its_rule(bundled_build: Path, bundled) -> None:
    data = json.loads((bundled_build / "policy/acl-map.json").read_text(encoding="utf-8"))
    assert "policy/acl-map.json" in (bundled_build / "manifest.json").read_text(encoding="utf-8")
    with_filters = {h for h, d in bundled.intents.items() if d.filters and d.platform != "linux"}
    assert set(data["devices"]) == with_filters
    names = {r["name"] for r in json.loads((bundled_build / "policy/rules.json").read_text())["rules"]}
    traced: set[str] = set()
    for host, dev in data["devices"].items():
        lines = (bundled_build / dev["file"]).read_text(encoding="utf-8").splitlines()
        intent = {f.name: f for f in bundled.intents[host].filters}
        for fname, f in dev["filters"].items():
            assert [x["seq"] for x in f["lines"]] == [r.seq for r in intent[fname].rules]
            for x, r in zip(f["lines"], intent[fname].rules, strict=True):
                assert x["line"] is not None, (host, fname, x)
                text = lines[x["line"] - 1].strip()
                assert text == x["text"] and re.match(rf"(rule )?{r.seq} {r.action} ", text), (host, x)
                assert x["rule"] == (r.remark or None)
                traced.add(x["rule"])
    assert names & traced  # policy rules reach device lines by name
