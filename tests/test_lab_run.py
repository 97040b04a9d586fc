"""A real lab (root): a small scope with the centre, a leased-line and a VPN village, a county unit and the
internet/city edges comes up ONCE for this module; tests check convergence, paths, SSH and the probes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from countynet.lab import api, converge, probe
from countynet.lab.sh import swanctl
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.flows import Flow, Verdict
from tests.lab_helpers import module_lab

pytestmark = pytest.mark.root

# the centre's network (cores, WAN routers, firewalls = internet edge, city edge, VPN hub), two servers,
# two townships (yange: a leased-line and a VPN village; lianzhou: a VPN village) and a county unit
# (and the servers the probe matrix targets: a policy rule naming a host is only proven on that host)
SCOPE = ("core,device:yx-db-1,device:yx-oa-1,device:yx-docex-1,device:yx-portal-1,device:yx-mail-1,device:yx-dns-1,"
         "device:yx-syslog-1,device:yx-yange-rt1,device:yx-yange-sw1,device:yx-yange-yange,"
         "device:yx-yange-shanbei,device:yx-lianzhou-rt1,device:yx-lianzhou-sw1,device:yx-lianzhou-tutian,unit:finance")
LEASED, VPN = "yx-yange-yange", "yx-yange-shanbei"


lab = module_lab(SCOPE, "lab tests")


def _probe(lab: api.LabHandle, zone_device: str, dst: str, port: int, expected: str = "allowed") -> Verdict:
    inv = json.loads((lab.lab_dir / "lab.json").read_text())
    src_zone = next(p["zone"] for p in inv["probes"] if p["device"] == zone_device)
    addr = _server_addr(lab, dst)
    src = next(p["address"].split("/")[0] for p in inv["probes"] if p["device"] == zone_device)
    flow = Flow(f"test:{zone_device}->{dst}", src_zone, "servers", zone_device, src, dst, addr, "tcp", port, expected)
    (res,) = probe.run_probes(lab.lab_dir, [flow])
    return res


def _server_addr(lab: api.LabHandle, host: str) -> str:
    out = subprocess.run(["ip", "-n", lab.devices[host].namespace, "-j", "-4", "addr", "show", "dev", "e0"],
                         capture_output=True, text=True, check=True).stdout
    return str(json.loads(out)[0]["addr_info"][0]["local"])


def test_converged(lab):
    """OSPF full adjacencies as the intent expects, BGP to the city established, IPsec SA installed."""
    assert lab.converged, json.loads((lab.lab_dir / "lab.json").read_text())["convergence"]
    inv = json.loads((lab.lab_dir / "lab.json").read_text())
    core = inv["devices"]["yx-core-1"]["dir"]
    assert set(inv["ospf_expect"]["yx-core-1"]) <= converge.ospf_full(core)
    assert inv["bgp_expect"]["yx-city-1"] and set(inv["bgp_expect"]["yx-city-1"]) <= \
        converge.bgp_established(inv["devices"]["yx-city-1"]["dir"])
    assert converge.ipsec_up(inv["devices"][VPN]["dir"])


def test_leased_village_reaches_centre_over_ospf(lab):
    res = _probe(lab, LEASED, "yx-oa-1", 443)
    assert res.observed == "allowed", res
    route = subprocess.run(["ip", "-n", lab.devices[LEASED].namespace, "route", "show", "default"],
                           capture_output=True, text=True, check=True).stdout
    assert "proto ospf" in route  # the way to the centre is learnt by OSPF (totally stubby area default)


def test_vpn_village_reaches_centre_over_ipsec(lab):
    ns = lab.devices[VPN].namespace
    oa = _server_addr(lab, "yx-oa-1")
    via = subprocess.run(["ip", "-n", ns, "route", "get", oa, "from", "0.0.0.0"], capture_output=True, text=True,
                         check=True).stdout
    inv = json.loads((lab.lab_dir / "lab.json").read_text())
    sas = lambda: swanctl(Path(inv["devices"][VPN]["dir"]) / "run", "--list-sas")  # noqa: E731
    before = sas()
    res = _probe(lab, VPN, "yx-oa-1", 443)
    assert res.observed == "allowed", res
    after = sas()
    kernel_esp = inv["kernel_esp"]
    assert ("ipsec0" in via) or kernel_esp, via  # kernel-libipsec: the tunnel is the ipsec0 TUN device
    assert _packets_in(after) > _packets_in(before)  # the reply came back through the SA


def _packets_in(sas: str) -> int:
    return sum(int(line.split(",")[1].split()[0]) for line in sas.splitlines() if line.strip().startswith("in "))


def test_ssh_with_netmiko(lab):
    from netmiko import ConnectHandler

    dev = lab.devices["yx-core-1"]
    conn = ConnectHandler(device_type="linux", host=dev.mgmt, username=lab.username, key_file=str(lab.key),
                          use_keys=True, allow_agent=False, ssh_strict=True, system_host_keys=False,
                          alt_host_keys=True, alt_key_file=str(lab.known_hosts), timeout=10)
    try:
        assert conn.send_command("hostname").strip() == "yx-core-1"
        out = conn.send_command("vtysh -c 'show ip ospf neighbor'")
        assert "Full" in out
    finally:
        conn.disconnect()


def test_policy_matrix_runs(lab, bundled_build):
    """The build's whole matrix runs with real traffic: every flow gets an observed verdict, none errors."""
    inv = json.loads((lab.lab_dir / "lab.json").read_text())
    assert inv["build"] == str(bundled_build.resolve())  # the lab records the build it emulates
    flows, source = probe.load_flows(BuildReader(bundled_build))
    results = probe.run_probes(lab.lab_dir, flows)
    assert results and not [r for r in results if r.status == "error"]
    observed = {r.observed for r in results if r.status != "unproven"}
    assert observed <= {"allowed", "denied"} and {"allowed", "denied"} <= observed
    # real packets agree with the policy for every flow, those towards stand-ins included: a device outside the
    # scope (yx-ntp-1, yx-aaa-1, yx-nms-1) is stood in for by its segment's probe host, lent the server's address.
    # The stand-ins used to disagree on UDP (NTP, RADIUS, SNMP traps): the lab's UDP listener, bound to 0.0.0.0,
    # answered from the probe host's own address instead of the lent one, and the filters (which admit the
    # server's replies only) dropped the answer. Listeners now answer from the address they were sent to.
    # A flow sent by a stand-in with another source or destination address proves nothing about the flow (the
    # filters may tell the addresses apart): it is unproven, saying what it saw.
    mismatches = [r for r in results if r.status == "mismatch"]
    assert not mismatches, "\n".join(f"{r.flow.rule} {r.where}: {r.reason}" for r in mismatches)
    lent = [r for r in results if r.flow.dst_device in ("yx-ntp-1", "yx-aaa-1") and "given its address" in r.reason]
    proven = {r.flow.rule for r in lent if r.status == "ok" and r.flow.protocol == "udp"}
    assert {"devices-to-ntp", "devices-to-aaa"} <= proven, [(r.flow.rule, r.status, r.reason) for r in lent]
    for r in results:
        if r.status == "unproven":
            print(f"UNPROVEN {r.flow.rule} {r.where}: {r.reason}")
    js, md = probe.write_reports(results, lab.lab_dir / "reports", source, {})
    data = json.loads(js.read_text())
    assert data["checker"] == "lab" and data["flows"] and "| status | rule |" in md.read_text()


def test_probe_catches_a_broken_rule(lab):
    """Break the leased village's path to the OA server (its LAN filter rule, else its route): the probe that
    passed now reports a mismatch; restore it and the probe passes again."""
    ns = lab.devices[LEASED].namespace
    oa = _server_addr(lab, "yx-oa-1")
    assert _probe(lab, LEASED, "yx-oa-1", 443).status == "ok"
    handle = _nft_rule_for(ns, oa, 443)
    if handle:
        fam, table, chain, h = handle
        subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "rule", fam, table, chain, "handle", str(h)],
                       check=True)
    else:  # no compiled filter on this device yet: break reachability instead
        subprocess.run(["ip", "-n", ns, "route", "add", "blackhole", f"{oa}/32"], check=True)
    broken = _probe(lab, LEASED, "yx-oa-1", 443)
    assert broken.status == "mismatch" and broken.observed == "denied", broken
    if handle:
        inv = json.loads((lab.lab_dir / "lab.json").read_text())
        conf = Path(inv["devices"][LEASED]["dir"]) / "nftables.lab.conf"  # what the lab loaded
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", str(conf)], check=True)
    else:
        subprocess.run(["ip", "-n", ns, "route", "del", "blackhole", f"{oa}/32"], check=True)
    assert _probe(lab, LEASED, "yx-oa-1", 443).status == "ok"


def _nft_rule_for(ns: str, addr: str, port: int) -> tuple[str, str, str, int] | None:
    """The filter rule that permits tcp/port to addr (a compiled ACL line), if the device has one."""
    data = json.loads(subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "ruleset"],
                                     capture_output=True, text=True, check=True).stdout)
    for item in data["nftables"]:
        r = item.get("rule")
        if not r:
            continue
        text = json.dumps(r["expr"])
        if f'"{addr}"' in text and f'"right": {port}' in text and ('"accept"' in text or '"return"' in text):
            return r["family"], r["table"], r["chain"], r["handle"]
    return None


@pytest.fixture(scope="module")
def drawn(bundled_build: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """(verify's probe set for this lab's scope, drawn once by the CLI as an engineer would; its reports dir)."""
    import sys

    from countynet.outputs.probes import PROBES_FILE, read_probe_set

    reports = tmp_path_factory.mktemp("probe-set") / "reports"
    env = {k: v for k, v in os.environ.items() if k != "BATFISH_HOST"}
    res = subprocess.run([sys.executable, "-m", "countynet", "verify", "--build", str(bundled_build), "--offline",
                          "--reports", str(reports), "--probes", SCOPE], capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    return read_probe_set(reports / PROBES_FILE, bundled_build), reports


def test_probe_set_agrees_in_the_lab(lab, bundled_build, tmp_path, drawn):
    """Every probe verify drew from the engine's regions for this scope, sent with real packets: none disagrees
    with the policy or the offline check, the three-engine table agrees, and what stays unproven says why."""
    from countynet.outputs.probes import compare_engines, manifest_digest

    ps, reports = drawn
    got, secs = probe.timed(probe.run_probe_set, lab.lab_dir, ps.probes)
    status = {s: sum(v.status == s for v in got) for s in ("ok", "mismatch", "unproven", "error")}
    print(f"probe set in the lab: {len(got)} probes ({ps.summary()}) in {secs}s: {status}")
    bad = [v for v in got if v.status in ("mismatch", "error")]
    assert not bad, "\n".join(f"{v.flow.rule} {v.flow.key()} {v.where}: {v.observed} ({v.reason})" for v in bad[:20])
    assert status["ok"] >= 0.9 * len(got), status
    kinds = {p.kind for p, v in zip(ps.probes, got, strict=True) if v.status == "ok"}
    assert kinds == {"inside", "boundary", "counterexample"}
    js, _ = probe.write_reports([], tmp_path / "lab", "", {"probes": [v.as_dict() for v in got],
                                                          "build_manifest": manifest_digest(bundled_build)})
    data, _, md = compare_engines(bundled_build, reports, tmp_path / "lab", js)
    assert data["result"] == "agreement", [r for r in data["rows"] if r["status"] == "disagree"][:5]
    assert data["summary"]["lab observed"] == status["ok"]
    assert "proven by lab, offline" in md.read_text()


def test_a_broken_lab_filter_shows_in_the_table(lab, bundled_build, tmp_path, drawn):
    """The leased village's path to a server broken in the running lab: the inside probes towards it are denied by
    real packets, the lab disagrees with the policy and offline, and the table says so; restored, they agree
    again."""
    from countynet.outputs.probes import compare_engines, manifest_digest

    ps, reports = drawn
    ns = lab.devices[LEASED].namespace
    lan = _lan_hosts(ns)
    mine = [p for p in ps.probes if p.kind == "inside" and p.src in lan and p.dst_zone == "servers"
            and p.protocol == "tcp"]
    assert mine, "no probe from the leased village to a server"
    mine = [p for p in mine if p.dst == mine[0].dst]
    # break the village's path to that server (a route to nowhere on the village router)
    subprocess.run(["ip", "-n", ns, "route", "add", "blackhole", f"{mine[0].dst}/32"], check=True)
    try:
        got = probe.run_probe_set(lab.lab_dir, mine)
    finally:
        subprocess.run(["ip", "-n", ns, "route", "del", "blackhole", f"{mine[0].dst}/32"], check=True)
    assert all(v.status == "mismatch" and v.observed == "denied" for v in got), got
    js, _ = probe.write_reports([], tmp_path / "lab", "", {"probes": [v.as_dict() for v in got],
                                                          "build_manifest": manifest_digest(bundled_build)})
    data, _, _ = compare_engines(bundled_build, reports, tmp_path / "lab", js)
    assert data["result"] == "disagreement"
    bad = [r for r in data["rows"] if r["status"] == "disagree"]
    assert len(bad) == len(mine) and all(r["lab"] == "denied" and r["offline"] == "allowed" for r in bad)
    assert all(v.status == "ok" for v in probe.run_probe_set(lab.lab_dir, mine))


def _lan_hosts(ns: str) -> set[str]:
    """Every host address of a village router's LAN bridges."""
    import ipaddress

    out = json.loads(subprocess.run(["ip", "-n", ns, "-j", "-4", "addr"], capture_output=True, text=True,
                                    check=True).stdout)
    nets = [ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}").network for link in out
            for a in link.get("addr_info", []) if link.get("ifname", "").startswith("br")]
    return {str(a) for n in nets for a in n.hosts()}
