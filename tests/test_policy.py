"""Security policy: compiled filters enforce the policy, and verify --offline catches every deviation.

The offline check reads a build directory (intents, `policy/zones.json`, `policy/flows.json`), so every
test here builds first, the way `countynet build` does, and checks that build."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

from countynet.intent.models import AclRule
from countynet.intent.policy.compile import active_rules
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.pipeline import compile_topology
from countynet.verify.evaluator import verify
from countynet.verify.offline_run import run_offline
from tests.conftest import ROOT, build_topology, edit


@pytest.fixture(scope="module")
def built(bundled_build: Path) -> BuildReader:
    return BuildReader(bundled_build)


def test_bundled_network_matches_policy(built: BuildReader) -> None:
    rep = run_offline(built)
    assert not [v for v in rep.verdicts if v.status == "mismatch"], [f.message for f in rep.findings if f.flow]
    assert rep.proven["endpoint pairs"] > 100_000 and rep.proven["devices parsed"] == len(built.hosts)
    observed = {v.flow.rule for v in rep.verdicts if v.observed == "allowed"}
    for rule in ("lans-to-business-systems", "internet-to-published", "units-to-superiors", "lans-to-portal"):
        assert rule in observed
    # device management addresses are the control plane: the forwarding model does not prove them, and says so
    assert {v.observed for v in rep.verdicts if v.flow.rule == "management-to-devices"} == {"unproven"}
    denied = {(v.flow.src_zone, v.flow.dst_zone) for v in rep.verdicts if v.observed == "denied"}
    # all exchange goes through the centre: LANs never reach each other; the internet never reaches inside
    assert ("village-lan", "township-lan") in denied and ("township-lan", "unit-lan") in denied
    assert ("internet", "servers") in denied and ("internet", "management") in denied


def test_plan_rules_are_in_the_bundled_policy(bundled) -> None:
    rules = {r.name: r for r in bundled.topology.policy.rules}
    assert {"village-lan", "township-lan", "unit-lan"} <= set(rules["lans-to-business-systems"].source)
    assert rules["internet-to-published"].destination == ["dmz"]
    assert rules["management-to-devices"].source == ["management"]
    assert "city" in rules["units-to-superiors"].destination


def test_every_lan_gateway_has_a_filter_ending_in_deny(bundled) -> None:
    for host, d in bundled.intents.items():
        for i in d.interfaces:
            if i.zone in ("village-lan", "township-lan", "unit-lan") and i.kind in ("svi", "routed"):
                assert i.acl_in, f"{host} {i.name} has no filter"
                f = next(f for f in d.filters if f.name == i.acl_in)
                last = f.rules[-1]
                assert (last.action, last.protocol, last.source, last.destination) == (
                    "deny", "ip", "0.0.0.0/0", "0.0.0.0/0")


def _drop_line(intents: dict, host: str, remark: str) -> None:
    d = intents[host]
    filters = []
    for f in d.filters:
        filters.append(f.model_copy(update={"rules": [r for r in f.rules if r.remark != remark]}))
    intents[host] = d.model_copy(update={"filters": filters})


def test_removed_allow_is_reported(built: BuildReader) -> None:
    flows = built.flows()
    flow = next(f for f in flows if f.rule == "lans-to-business-systems" and f.src_zone == "village-lan")
    intents = dict(built.intents())
    _drop_line(intents, flow.src_device, "lans-to-business-systems")
    rep = verify(intents, built.zone_map(), flows)
    missing = [f for f in rep.findings if f.kind == "missing-allow"]
    assert missing and all(f.flow and f.flow.rule == "lans-to-business-systems" for f in missing)
    assert any(f.flow and f.flow.src_device == flow.src_device for f in missing)
    assert all(v.status == "mismatch" for v in rep.verdicts if v.flow in {f.flow for f in missing})


def test_over_broad_line_is_reported_as_extra_allow_and_shadowing(built: BuildReader) -> None:
    intents = dict(built.intents())
    host = next(h for h, d in intents.items() if d.role == "township_switch")
    d = intents[host]
    f = d.filters[0]
    broad = AclRule(seq=1, action="permit", protocol="ip", source="0.0.0.0/0", destination="0.0.0.0/0",
                    remark="hand-added shortcut")
    intents[host] = d.model_copy(update={"filters": [f.model_copy(update={"rules": [broad, *f.rules]}),
                                                     *d.filters[1:]]})
    rep = verify(intents, built.zone_map(), built.flows())
    extra = [x for x in rep.findings if x.kind == "extra-allow"]
    assert extra and all(x.flow and host in (x.flow.src_device, x.flow.dst_device) for x in extra), [
        x.message for x in extra if x.flow and host not in (x.flow.src_device, x.flow.dst_device)]
    shadow = [x for x in rep.findings if x.kind == "shadowed-line" and x.subject == host]
    assert len(shadow) == len(f.rules)  # every original line, the final deny included, is now dead


def test_shadowed_line_is_reported(built: BuildReader) -> None:
    host = "yx-core-1"
    intents = dict(built.intents())
    d = intents[host]
    f = d.filters[0]
    dup = f.rules[2].model_copy(update={"seq": f.rules[-1].seq + 5, "remark": "copy"})
    rules = [*f.rules[:-1], dup, f.rules[-1]]
    intents[host] = d.model_copy(update={"filters": [f.model_copy(update={"rules": rules}), *d.filters[1:]]})
    rep = verify(intents, built.zone_map(), [])
    shadow = [x for x in rep.findings if x.kind == "shadowed-line"]
    assert len(shadow) == 1 and shadow[0].seq == dup.seq and f.name in shadow[0].message


def test_policy_rule_removed_from_yaml_denies_its_flows(topo_copy: Path, tmp_path: Path) -> None:
    text = (topo_copy / "policy.yaml").read_text(encoding="utf-8")
    start = text.index("  - name: lans-to-mail")
    end = text.index("  - name: lans-to-portal")
    (topo_copy / "policy.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    b = BuildReader(build_topology(topo_copy, tmp_path / "build"))
    rep = run_offline(b)
    assert not [v for v in rep.verdicts if v.status == "mismatch"]
    assert not [f for f in rep.findings if "lans-to-mail" in f.message]
    assert not [f for f in b.flows() if f.rule == "lans-to-mail"]
    mail = b.intent("yx-mail-1").interfaces[0].address.split("/")[0]
    village = next(h for h, f in b.hosts.items() if f["role"] == "village_cpe")
    lines = [x for f in b.intent(village).filters for x in f.rules if x.destination == f"{mail}/32"
             and x.port_min == 993]
    assert not lines


def test_expired_rule_warns_then_drops(topo_copy: Path) -> None:
    policy = topo_copy / "policy.yaml"
    edit(policy, "    reason: reachability monitoring of every LAN\n",
         "    reason: reachability monitoring of every LAN\n    expires: 2020-01-01\n")
    r = compile_topology(topo_copy)
    assert any("expired on 2020-01-01" in w.message for w in r.warnings)
    assert "monitoring-ping" not in {x.name for x in active_rules(r.topology.policy)}
    recent = dt.date.today() - dt.timedelta(days=3)
    assert "monitoring-ping" in {x.name for x in active_rules(r.topology.policy, today=recent.replace(year=2020,
                                                                                                        month=1,
                                                                                                        day=5))}


def test_verify_offline_cli_writes_reports(tmp_path: Path, bundled_build: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "countynet", "verify", "--offline", "--build", str(bundled_build),
                           "--reports", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    data = json.loads((tmp_path / "verify-offline.json").read_text(encoding="utf-8"))
    assert proc.returncode == (1 if data["findings"] else 0), proc.stdout + proc.stderr
    assert data["result"] == ("violations" if data["findings"] else "clean")
    assert data["checker"] == "offline" and data["summary"]["flows"] > 100 and data["summary"]["mismatch"] == 0
    # flows to device management addresses are control plane: not proven by the forwarding model, and said so
    assert {f["status"] for f in data["flows"]} == {"ok", "unproven"}
    assert all(f["dst_zone"] == "device-mgmt" or f["src_zone"] == "device-mgmt"
               for f in data["flows"] if f["status"] == "unproven")
    assert {f["observed"] for f in data["flows"]} == {"allowed", "denied", "unproven"}
    proven = data["exhaustive"]["proven"]
    assert proven["endpoint pairs"] > 100_000 and proven["packets compared"] > 10**24
    assert any("NAT" in u for u in data["exhaustive"]["unproven"])
    for f in data["findings"]:  # every difference comes with a counterexample, the path and the regions
        assert "Counterexample: " in f["message"] and "Path: " in f["message"] and "Regions: " in f["message"]
    md = (tmp_path / "verify-offline.md").read_text(encoding="utf-8")
    assert "| kind | subject | message |" in md and "| status | rule | flow |" in md
    assert "not proven here" in proc.stdout and "endpoint pairs" in proc.stdout


def test_bundled_build_verifies_clean_exhaustively(built: BuildReader) -> None:
    rep = run_offline(built)
    assert rep.ok, [f.message[:300] for f in rep.findings]


@pytest.mark.parametrize("bad", ["zone", "service"])
def test_policy_reference_errors_are_located(topo_copy: Path, bad: str) -> None:
    from countynet.errors import TopologyError

    if bad == "zone":
        edit(topo_copy / "policy.yaml", "to: [servers]", "to: [server]")
    else:
        edit(topo_copy / "policy.yaml", "services: [docex]", "services: [docx]")
    with pytest.raises(TopologyError) as info:
        compile_topology(topo_copy)
    text = info.value.render()
    assert "topology/policy.yaml:" in text and "did you mean" in text


SCOPED_RULE = """  - name: township-cameras-to-police
    from: [servers]
    to: [unit-lan]
    services: [https]
    scope: {unit: police}
    owner: 县公安局
    reason: "the centre's video platform relays township camera footage to the police unit (a township LAN
      may not reach a unit directly: invariant no-lateral-lans)"
  - name: monitoring-ping
"""


def test_scoped_rule_opens_only_its_unit_and_the_diff_says_so(topo_copy: Path, tmp_path: Path,
                                                                built: BuildReader) -> None:
    from countynet.verify.offline_run import offline_diff

    edit(topo_copy / "policy.yaml", "  - name: monitoring-ping\n", SCOPED_RULE)
    b = BuildReader(build_topology(topo_copy, tmp_path / "build"))
    rep = run_offline(b)
    assert not [v for v in rep.verdicts if v.status == "mismatch"]
    assert not [f for f in rep.findings if "township-cameras-to-police" in f.message], [
        f.message for f in rep.findings]
    fates = {(v.flow.rule, v.flow.dst_device): v.observed for v in rep.verdicts}
    assert fates[("township-cameras-to-police", "yx-u-police")] == "allowed"
    assert any(rule == "township-cameras-to-police:out-of-scope" and fate == "denied"
               for (rule, _dst), fate in fates.items())
    changes = offline_diff(b, built)
    police = [ipaddress.IPv4Network(m["prefix"]) for m in b.read_json("policy/zones.json")["zones"]["unit-lan"][
        "members"] if m["unit"] == "police"]
    added = [c for c in changes if c["change"] == "added"]
    rule = next(r for r in b.read_json("policy/rules.json")["rules"] if r["name"] == "township-cameras-to-police")
    src_zone = rule["from"][0]
    # the rule's source reaches the police unit on https, and the police unit's replies come back: nothing else
    assert {(c["from"], c["to"]) for c in added} == {(src_zone, "unit-lan"), ("unit-lan", src_zone)}
    assert not [c for c in changes if c["change"] != "added"], changes
    for c in added:
        assert c["rule"].startswith("township-cameras-to-police"), c
        dst = ipaddress.IPv4Address(c["example"].split("->")[1].split(":")[0].strip())
        src = ipaddress.IPv4Address(c["example"].split()[1].split(":")[0])
        assert any((dst if c["to"] == "unit-lan" else src) in n for n in police), c
        assert "tcp/443" in c["regions"] or "from port 443" in c["regions"], c


def test_filled_lines_equal_validated_models(bundled) -> None:
    """The fast line copy used for LAN filters builds exactly what pydantic validation would."""
    from countynet.intent.policy.compile import filled

    for d in list(bundled.intents.values())[:60]:
        for f in d.filters:
            for r in f.rules:
                again = AclRule.model_validate(r.model_dump())
                assert again == r and again.model_dump() == r.model_dump()
    template = AclRule(seq=5, action="permit", protocol="tcp", source="255.255.255.255/32",
                       destination="10.30.17.24/32", port_min=443, port_max=443, remark="x")
    out = filled(template, {"255.255.255.255/32": "10.30.210.32/28"})
    assert out == AclRule(seq=5, action="permit", protocol="tcp", source="10.30.210.32/28",
                          destination="10.30.17.24/32", port_min=443, port_max=443, remark="x")
    assert template.source == "255.255.255.255/32"  # the cached template is not touched
