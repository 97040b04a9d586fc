"""Policy semantics (issue 12, parts 2, 4 and 6): deny rules, invariants, narrowed replies, transit filters, lints.

The issue's mistakes are tried the way a hurried engineer would make them, on a private copy of the bundled
topology: each is refused (exit 2, naming the rule's `file:line` and the invariant) or, for a deny rule,
honoured. Filters are checked by evaluating the compiled lines first-match with a small evaluator written here
(independent of the compiler), packet by packet.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

from countynet.errors import TopologyError
from countynet.intent.models import AclRule, DeviceIntent
from countynet.outputs.pipeline import BuildResult, compile_topology
from countynet.outputs.policy_writer import policy_files
from countynet.verify.evaluator import verify
from tests.conftest import edit

ANCHOR = "  - name: monitoring-ping\n"
EPHEMERAL = 40000


def first_match(rules: list[AclRule], proto: str, src: str, dst: str, dport: int = 0, sport: int = EPHEMERAL,
                ack: bool = False) -> str:
    """The action of the first line matching the packet (our filters end with an explicit deny)."""
    s, d = ipaddress.IPv4Address(src), ipaddress.IPv4Address(dst)
    for r in rules:
        if r.protocol not in ("ip", proto):
            continue
        if s not in ipaddress.IPv4Network(r.source) or d not in ipaddress.IPv4Network(r.destination):
            continue
        if r.protocol in ("tcp", "udp"):
            if r.port_min is not None and not (r.port_min <= dport <= (r.port_max or r.port_min)):
                continue
            if r.source_port_min is not None and not (
                    r.source_port_min <= sport <= (r.source_port_max or r.source_port_min)):
                continue
        if r.established and not ack:
            continue
        return r.action
    raise AssertionError("no line matched: a compiled filter must end with an explicit deny")


def acl_in(d: DeviceIntent, iface: str) -> list[AclRule]:
    name = next(i.acl_in for i in d.interfaces if i.name == iface)
    return next(f.rules for f in d.filters if f.name == name)


def address(d: DeviceIntent) -> str:
    return next(i.address for i in d.interfaces if i.address and i.kind != "loopback").split("/")[0]


def lan(d: DeviceIntent, zone: str) -> tuple[str, ipaddress.IPv4Network]:
    i = next(i for i in d.interfaces if i.zone == zone and i.address)
    return i.name, ipaddress.IPv4Interface(i.address).network


def host_in(net: ipaddress.IPv4Network) -> str:
    return str(net.broadcast_address - 1)


def rule_line(policy: Path, rule: str) -> int:
    lines = policy.read_text(encoding="utf-8").splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.strip() == f"- name: {rule}")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "countynet", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def compiled(bundled: BuildResult) -> BuildResult:
    return bundled


# -- the bundled policy --------------------------------------------------------------------------------------


def test_bundled_policy_holds_its_invariants_without_warnings(compiled: BuildResult) -> None:
    # the seven of topology/policy.yaml, then the one the hosting declarations generate (docs/hosting.md)
    assert [i.name for i in compiled.topology.policy.invariants] == [
        "no-lateral-lans", "superiors-via-centre", "city-reaches-only-the-platform", "internet-reaches-only-dmz",
        "management-plane-from-jump-and-nms", "administration-from-jump-and-nms", "management-never-internet",
        "hosting-tenants-isolated"]
    assert not [w for w in compiled.warnings if w.file.endswith("policy.yaml")], [
        w.render() for w in compiled.warnings]
    rules = json.loads(policy_files(compiled)["policy/rules.json"])
    inv = {i["name"]: i for i in rules["invariants"]}
    assert inv["internet-reaches-only-dmz"]["from"] == ["internet"]
    to = inv["internet-reaches-only-dmz"]["to"]
    assert "dmz" not in to and "management" in to
    assert inv["administration-from-jump-and-nms"]["ports"] == [
        {"protocol": "tcp", "low": 22, "high": 22}, {"protocol": "udp", "low": 161, "high": 161}]
    assert inv["management-plane-from-jump-and-nms"]["unless_from_hosts"] == {
        "zone": "management", "hosts": ["yx-jump-1", "yx-nms-1"]}
    mgmt = next(r for r in rules["rules"] if r["name"] == "management-to-devices")
    assert mgmt["action"] == "allow" and mgmt["source_hosts"] == ["yx-jump-1", "yx-nms-1"]


def test_bundled_build_passes_the_flow_check_without_shadowed_lines(bundled_build: Path) -> None:
    from countynet.outputs.build_reader import BuildReader

    b = BuildReader(bundled_build)
    rep = verify(b.intents(), b.zone_map(), b.flows())
    assert rep.verdicts and rep.ok, [f.message for f in rep.findings[:5]]


# -- the mistakes ------------------------------------------------------------------------------------


LATERAL = """  - name: townships-share-everything
    from: [township-lan]
    to: [township-lan]
    services: [everything]
    owner: 某乡镇
    reason: townships exchange files directly
"""

SSH_EVERYWHERE = """  - name: ssh-from-anywhere
    from: [internet, city, compound, training, unit-lan, township-lan, village-lan]
    to: [management]
    services: [ssh]
    owner: 外包运维
    reason: remote support
"""


@pytest.mark.parametrize(("rule", "text", "invariants"), [
    ("townships-share-everything", LATERAL, ["no-lateral-lans"]),
    ("ssh-from-anywhere", SSH_EVERYWHERE, ["internet-reaches-only-dmz", "city-reaches-only-the-platform",
                                           "administration-from-jump-and-nms"]),
])
def test_rule_breaking_an_invariant_is_refused(topo_copy: Path, tmp_path: Path, rule: str, text: str,
                                               invariants: list[str]) -> None:
    policy = topo_copy / "policy.yaml"
    edit(policy, "  tacacs: {", "  everything: {ports: [tcp/1-65535, udp/1-65535, icmp]}\n  tacacs: {")
    edit(policy, ANCHOR, text + ANCHOR)
    line = rule_line(policy, rule)
    for args in (["validate", str(topo_copy)], ["build", str(topo_copy), "--out", str(tmp_path / "out")]):
        proc = run_cli(*args)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2, out
        assert "Traceback" not in out
        for name in invariants:
            assert f"policy.yaml:{line}:" in out and f"breaks invariant {name!r}" in out, out
    assert not (tmp_path / "out").exists()


def test_management_vlan_tagged_with_the_compound_zone_is_caught(topo_copy: Path) -> None:
    centre = topo_copy / "centre.yaml"
    edit(centre, "vlan: 99, security_zone: management,", "vlan: 99, security_zone: compound,")
    with pytest.raises(TopologyError) as exc:
        compile_topology(topo_copy)
    text = "\n".join(d.render() for d in exc.value.diagnostics)
    assert "invariant 'management-plane-from-jump-and-nms' broken: server 'yx-jump-1' is in security zone " \
           "'compound', not 'management'" in text, text
    assert "centre.yaml:" in text  # names the line that tags the management VLAN
    proc = run_cli("validate", str(topo_copy))
    assert proc.returncode == 2 and "management-plane-from-jump-and-nms" in proc.stdout + proc.stderr


DENY = """  - name: no-villages-to-police-system
    action: deny
    from: [village-lan]
    to: [servers]
    services: [https]
    destination_hosts: [yx-biz-police]
    owner: 县公安局
    reason: the police business system is not for village terminals
"""


def test_deny_rule_is_honoured_before_the_allows(topo_copy: Path) -> None:
    edit(topo_copy / "policy.yaml", ANCHOR, DENY + ANCHOR)
    r = compile_topology(topo_copy)
    police, oa = address(r.intents["yx-biz-police"]), address(r.intents["yx-oa-1"])
    docex = address(r.intents["yx-docex-1"])
    villages = [d for d in r.intents.values() if d.role == "village_cpe"]
    assert villages
    for v in villages:
        iface, net = lan(v, "village-lan")
        rules = acl_in(v, iface)
        assert first_match(rules, "tcp", host_in(net), police, 443) == "deny", v.hostname
        assert first_match(rules, "tcp", host_in(net), docex, 8443) == "permit"  # other rules stay allowed
        assert first_match(rules, "tcp", host_in(net), police, 8443) == "deny"  # docex only to its server
        assert first_match(rules, "tcp", host_in(net), oa, 443) == "permit"
    town = next(d for d in r.intents.values() if d.role == "township_switch")
    iface, net = lan(town, "township-lan")
    assert first_match(acl_in(town, iface), "tcp", host_in(net), police, 443) == "permit"  # not a village
    # the servers' side drops the replies too, and the transit filters the request
    core = r.intents["yx-core-1"]
    srv_if = next(i.name for i in core.interfaces if i.zone == "servers")
    _i, vnet = lan(villages[0], "village-lan")
    assert first_match(acl_in(core, srv_if), "tcp", police, host_in(vnet), EPHEMERAL, 443, ack=True) == "deny"
    assert first_match(acl_in(core, srv_if), "tcp", oa, host_in(vnet), EPHEMERAL, 443, ack=True) == "permit"
    leased = next(v for v in villages if not v.vpn)
    rt = next(d for d in r.intents.values() for i in d.interfaces if i.peer and i.peer.host == leased.hostname
              and i.acl_in)
    link = next(i.name for i in rt.interfaces if i.peer and i.peer.host == leased.hostname)
    _i, lnet = lan(leased, "village-lan")
    assert first_match(acl_in(rt, link), "tcp", host_in(lnet), police, 443) == "deny"
    assert first_match(acl_in(rt, link), "tcp", host_in(lnet), oa, 443) == "permit"
    data = json.loads(policy_files(r)["policy/rules.json"])
    assert data["rules"][0]["name"] == "no-villages-to-police-system" and data["rules"][0]["action"] == "deny"
    flows = json.loads(policy_files(r)["policy/flows.json"])["flows"]
    assert any(f["rule"] == "no-villages-to-police-system" and f["expected"] == "denied" for f in flows), [
        f for f in flows if "police" in f["rule"]]


def test_deny_rule_keeps_its_scope_and_expiry(topo_copy: Path) -> None:
    scoped = DENY.replace("    owner: 县公安局\n", "    scope: {township: aonan}\n    owner: 县公安局\n")
    edit(topo_copy / "policy.yaml", ANCHOR, scoped + ANCHOR)
    r = compile_topology(topo_copy)
    police = address(r.intents["yx-biz-police"])
    for v in (d for d in r.intents.values() if d.role == "village_cpe"):
        iface, net = lan(v, "village-lan")
        want = "deny" if v.township == "aonan" else "permit"
        assert first_match(acl_in(v, iface), "tcp", host_in(net), police, 443) == want, v.hostname
    expired = DENY.replace("    owner: 县公安局\n", "    expires: 2020-01-01\n    owner: 县公安局\n")
    text = (topo_copy / "policy.yaml").read_text(encoding="utf-8").replace(scoped, expired)
    (topo_copy / "policy.yaml").write_text(text, encoding="utf-8")
    r = compile_topology(topo_copy)
    assert any("no-villages-to-police-system" in w.message and "dropped" in w.message for w in r.warnings)
    v = next(d for d in r.intents.values() if d.role == "village_cpe")
    iface, net = lan(v, "village-lan")
    assert first_match(acl_in(v, iface), "tcp", host_in(net), police, 443) == "permit"


SCOPED_TO_CITY = """  - name: police-to-ministry
    from: [unit-lan]
    to: [city]
    services: [docex]
    scope: {unit: police}
    owner: 县公安局
    reason: the police unit exchanges documents with the city police bureau
"""


def test_scoped_unit_rule_to_the_city_builds_and_verifies_clean(topo_copy: Path, tmp_path: Path) -> None:
    from countynet.outputs.build_reader import BuildReader
    from tests.conftest import build_topology

    edit(topo_copy / "policy.yaml", ANCHOR, SCOPED_TO_CITY + ANCHOR)
    proc = run_cli("validate", str(topo_copy))
    assert proc.returncode == 0 and "warning" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    b = BuildReader(build_topology(topo_copy, tmp_path / "build"))
    intents = b.intents()
    rep = verify(intents, b.zone_map(), b.flows())
    assert rep.ok, [f.message for f in rep.findings[:5]]
    assert any(v.flow.rule == "police-to-ministry" and v.observed == "allowed" for v in rep.verdicts)
    city = "10.36.1.10"
    for d in (d for d in intents.values() if d.role == "unit_router"):
        iface, net = lan(d, "unit-lan")
        want = "permit" if d.unit == "police" else "deny"
        assert first_match(acl_in(d, iface), "tcp", host_in(net), city, 8443) == want, d.hostname
    edge = intents["yx-city-1"]
    wan = next(i.name for i in edge.interfaces if i.acl_in)
    police = next(d for d in intents.values() if d.role == "unit_router" and d.unit == "police")
    other = next(d for d in intents.values() if d.role == "unit_router" and d.unit != "police")
    pnet, onet = lan(police, "unit-lan")[1], lan(other, "unit-lan")[1]
    rules = acl_in(edge, wan)
    assert first_match(rules, "tcp", city, host_in(pnet), EPHEMERAL, 8443, ack=True) == "permit"
    assert first_match(rules, "tcp", city, host_in(onet), EPHEMERAL, 8443, ack=True) == "deny"
    assert first_match(rules, "tcp", city, host_in(pnet), EPHEMERAL, 8443) == "deny"  # no new connection in
    assert first_match(rules, "tcp", city, host_in(pnet), EPHEMERAL, 22, ack=True) == "deny"  # only from 8443/443


# -- what filters admit beyond the policy --------------------------------------------------------------------


def test_reply_lines_are_exactly_the_services_replies(compiled: BuildResult) -> None:
    intents = compiled.intents
    dns, portal = address(intents["yx-dns-1"]), address(intents["yx-portal-1"])
    core = intents["yx-core-1"]
    dmz_if = next(i.name for i in core.interfaces if i.zone == "dmz")
    rules = acl_in(core, dmz_if)
    v = next(d for d in intents.values() if d.role == "village_cpe")
    client = host_in(lan(v, "village-lan")[1])
    assert first_match(rules, "udp", dns, client, EPHEMERAL, 53) == "permit"  # the DNS answer
    assert first_match(rules, "udp", dns, client, EPHEMERAL, 5353) == "deny"  # UDP from another port
    assert first_match(rules, "udp", portal, client, EPHEMERAL, 53) == "deny"  # from a host that is not DNS
    assert first_match(rules, "tcp", portal, client, EPHEMERAL, 443, ack=True) == "permit"
    assert first_match(rules, "tcp", portal, client, EPHEMERAL, 443) == "deny"  # a new connection from the DMZ
    assert first_match(rules, "tcp", portal, client, 443, 8080, ack=True) == "deny"  # ACK from another port
    syslog = address(intents["yx-syslog-1"])
    assert first_match(rules, "tcp", portal, syslog, EPHEMERAL, 443, ack=True) == "deny"  # not a client
    for d in intents.values():
        for f in d.filters:
            for r in f.rules:
                if r.remark.endswith("(replies)") and r.protocol in ("tcp", "udp"):
                    assert r.source_port_min is not None and r.port_min is None, (d.hostname, f.name, r)
                    assert r.established == (r.protocol == "tcp")


def test_icmp_to_management_only_what_a_rule_grants(compiled: BuildResult) -> None:
    intents = compiled.intents
    nms, syslog = address(intents["yx-nms-1"]), address(intents["yx-syslog-1"])
    for d in intents.values():
        for i in d.interfaces:
            if not (i.acl_in and i.zone in ("village-lan", "township-lan", "unit-lan", "compound", "training")):
                continue
            net = ipaddress.IPv4Interface(i.address or "").network
            rules = acl_in(d, i.name)
            assert first_match(rules, "icmp", host_in(net), nms, 0) == "permit"  # echo replies to the NMS
            assert first_match(rules, "icmp", host_in(net), syslog, 0) == "deny", (d.hostname, i.name)


def test_compromised_site_devices_reach_no_more_than_their_lans(compiled: BuildResult) -> None:
    """Attacker model: what enters from a village, township or unit link, with any source address of the
    site (or another site's), is at most what that site's LANs and loopbacks may send."""
    intents = compiled.intents
    db, oa, jump = address(intents["yx-db-1"]), address(intents["yx-oa-1"]), address(intents["yx-jump-1"])
    checked = 0
    for d in intents.values():
        for i in d.interfaces:
            peer = intents.get(i.peer.host) if i.peer else None
            if peer is None or peer.role not in ("village_cpe", "township_router", "unit_router", "township_switch") \
                    or d.role not in ("township_router", "wan"):
                continue
            assert i.acl_in, f"{d.hostname} {i.name} faces {peer.hostname} without a transit filter"
            rules = acl_in(d, i.name)
            zone = {"village_cpe": "village-lan", "unit_router": "unit-lan"}.get(peer.role, "township-lan")
            site = peer if peer.role != "township_router" else next(
                x for x in intents.values() if x.role == "township_switch" and x.township == peer.township)
            own = host_in(lan(site, zone)[1])
            assert first_match(rules, "tcp", own, oa, 443) == "permit", (d.hostname, i.name)
            assert first_match(rules, "tcp", own, db, 5432) == "deny"  # no rule opens the database
            assert first_match(rules, "tcp", own, db, 5432, sport=443, ack=True) == "deny"  # forged reply
            assert first_match(rules, "tcp", own, jump, 22) == "deny"
            spoofed = host_in(lan(next(x for x in intents.values() if x.role == "village_cpe"
                                       and x.township != peer.township), "village-lan")[1])
            assert first_match(rules, "tcp", spoofed, oa, 443) == "deny", (d.hostname, i.name)
            loop = next(x.address for x in peer.interfaces if x.kind == "loopback").split("/")[0]
            assert first_match(rules, "udp", loop, address(intents["yx-syslog-1"]), 514) == "permit"
            assert first_match(rules, "tcp", loop, oa, 443) == "deny"
            checked += 1
    assert checked > 100
    hub = intents["yx-vpnhub-1"]
    outside = next(i.name for i in hub.interfaces if i.acl_in)
    spoke = next(x for x in intents.values() if x.vpn and x.vpn.role == "spoke")
    leased = next(x for x in intents.values() if x.role == "village_cpe" and not x.vpn)
    rules = acl_in(hub, outside)
    assert first_match(rules, "tcp", host_in(lan(spoke, "village-lan")[1]), oa, 443) == "permit"
    assert first_match(rules, "tcp", host_in(lan(spoke, "village-lan")[1]), db, 5432) == "deny"
    assert first_match(rules, "tcp", host_in(lan(leased, "village-lan")[1]), oa, 443) == "deny"


# -- lints ---------------------------------------------------------------------------------------------------


def test_lints_warn_with_the_rule_line(topo_copy: Path) -> None:
    policy = topo_copy / "policy.yaml"
    edit(policy, "  tacacs: {", "  telnet: {ports: [tcp/23]}\n  tacacs: {")
    edit(policy, "  device-mgmt:", "  kiosk: {kind: centre, trust: 20, description: \"kiosks\"}\n  device-mgmt:")
    extra = """  - name: training-logs-anywhere
    from: [training]
    to: [management]
    services: [syslog]
    owner: 县信息中心
    reason: the training room sends logs to the log server
  - name: training-telnet
    from: [training]
    to: [servers]
    services: [telnet]
    owner: 县信息中心
    reason: a legacy system
  - name: kiosk-portal
    from: [kiosk]
    to: [dmz]
    services: [https]
    owner: 县信息中心
    reason: kiosks show the portal
  - name: finance-mail
    from: [unit-lan]
    to: [dmz]
    services: [imaps]
    destination_hosts: [yx-mail-1]
    scope: {unit: finance}
    owner: 县财政局
    reason: finance reads mail
  - name: no-training-mail
    action: deny
    from: [training]
    to: [dmz]
    services: [submission, imaps, https]
    destination_hosts: [yx-mail-1]
    owner: 县信息中心
    reason: the training room has no mail
"""
    edit(policy, ANCHOR, extra + ANCHOR)
    r = compile_topology(topo_copy)
    text = "\n".join(w.render() for w in r.warnings)

    def at(rule: str, fragment: str) -> None:
        line = rule_line(policy, rule)
        assert any(w.line == line and w.file.endswith("policy.yaml") and fragment in w.message
                   for w in r.warnings), (rule, text)

    at("training-logs-anywhere", "opens all of zone 'management'")
    at("training-telnet", "administer higher-trust zone 'servers' (trust 90) over tcp/23")
    at("kiosk-portal", "never matches")
    at("finance-mail", "overlap")
    assert any("security zone 'kiosk' has no members" in w.message for w in r.warnings), text
    assert all(w.severity == "warning" for w in r.warnings)
    # a deny that covers an allow completely: the allow never matches
    edit(policy, "    services: [submission, imaps, https]\n    destination_hosts: [yx-mail-1]\n    owner: 县信息中心\n"
                 "    reason: the training room has no mail\n",
         "    services: [submission, imaps, https]\n    destination_hosts: [yx-mail-1]\n    owner: 县信息中心\n"
         "    reason: the training room has no mail\n  - name: training-mail\n    from: [training]\n    to: [dmz]\n"
         "    services: [imaps]\n    destination_hosts: [yx-mail-1]\n    owner: 县信息中心\n    reason: mail\n")
    r = compile_topology(topo_copy)
    assert any("never matches: deny rule 'no-training-mail'" in w.message for w in r.warnings)
