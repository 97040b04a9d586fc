"""The lab's probe set (issue 12 part 7): drawn from the exhaustive check's regions, checked here against the engine
(region counts recomputed in the test, every probe re-evaluated by the concrete evaluator on every modelled path),
its provenance, and the three-engine table on a mutated build. The lab run itself is in tests/test_lab_run.py."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from pathlib import Path

import pytest

from countynet.lab import scope as scopemod
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.probes import (
    PROBES_FILE,
    ProbeSet,
    ProbeSetError,
    compare_engines,
    manifest_digest,
    parse_probe_set,
    probe_set_json,
    read_probe_set,
)
from countynet.verify.exhaustive import Checker
from countynet.verify.probes import DEFAULT_MAX_PER_PAIR, draw
from countynet.verify.symbolic import Packet
from countynet.verify.symbolic.concrete import admits
from tests.test_build_reader import cli
from tests.test_lab_run import SCOPE
from tests.test_verify_exhaustive import drop_final_deny, mutate


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    """`countynet verify ARGS` as an engineer runs it (a process; BATFISH_HOST unset: no server here)."""
    return cli("verify", *args)


@pytest.fixture(scope="module")
def checked(bundled_build: Path) -> tuple[Checker, set[str]]:
    c = Checker(BuildReader(bundled_build))
    c.run()
    return c, scopemod.select(BuildReader(bundled_build).hosts, SCOPE)


@pytest.fixture(scope="module")
def probe_set(checked, bundled_build: Path):  # type: ignore[no-untyped-def]
    c, hosts = checked
    return draw(c, hosts, SCOPE, manifest_digest(bundled_build))


def _packet(p) -> Packet:  # type: ignore[no-untyped-def]
    return Packet.of(p.protocol, p.src, p.dst, sport=p.sport, dport=p.dport, flags=p.flags, icmp_type=p.icmp_type,
                     icmp_code=p.icmp_code)


def test_every_admitted_region_of_every_lab_pair_has_a_probe(checked, probe_set, bundled_build: Path) -> None:
    """Pairs counted from zones.json (segments whose gateway is in the scope, the internet through an in-scope
    firewall, the city through an in-scope edge); regions recomputed per pair with the engine's summarise."""
    c, hosts = checked
    zones = json.loads((bundled_build / "policy" / "zones.json").read_text())["zones"]
    segments = {m["prefix"] for z in zones.values() if z["kind"] not in ("internet", "city", "device-mgmt")
                for m in z["members"] if m["device"] in hosts}
    roles = BuildReader(bundled_build).hosts
    outside = int(any(roles[h]["role"] == "firewall" for h in hosts)) + int(any(roles[h]["role"] == "city_edge"
                                                                                for h in hosts))
    n = len(segments)
    assert probe_set.pairs == n * (n - 1) + 2 * n * outside, (probe_set.pairs, n, outside)

    e = c.e
    in_scope = _in_scope(probe_set)
    # every pair with admitted traffic, recomputed: the policy's new connections between the two endpoints
    count = 0
    for a in c.eps:
        for b in c.eps:
            if a is b or (a.outside and b.outside) or a.name not in in_scope or b.name not in in_scope:
                continue
            req = c.policy.requests & c.universe(a) & c.ep_space[id(b)]
            k = len(e.summarise(req)) if req != e.false else 0
            got = [r for r in probe_set.regions if (r.src_endpoint, r.dst_endpoint) == (a.name, b.name)
                   and r.kind == "admitted"]
            assert len(got) == k, (a.name, b.name, k, [r.text for r in got])
            count += k
    assert count == sum(r.kind == "admitted" for r in probe_set.regions) > 50
    assert not [r for r in probe_set.regions if r.kind != "admitted"], "the bundled build differs from its policy"
    inside = {p.region for p in probe_set.probes if p.kind == "inside"}
    for r in probe_set.regions:
        assert r.probed == (r.id in inside), r
        assert r.probed or r.reason, r
    per_pair: dict[tuple[str, str], int] = {}
    for p in probe_set.probes:
        per_pair[(p.src_endpoint, p.dst_endpoint)] = per_pair.get((p.src_endpoint, p.dst_endpoint), 0) + 1
    assert max(per_pair.values()) <= DEFAULT_MAX_PER_PAIR
    assert len(per_pair) == probe_set.pairs  # every pair gets a probe (a pair with nothing admitted: one denied)
    s = probe_set.summary()
    print(f"probe set for the lab test scope: {s}")


def _in_scope(ps) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.src_endpoint for r in ps.regions} | {r.dst_endpoint for r in ps.regions} | {
        p.src_endpoint for p in ps.probes} | {p.dst_endpoint for p in ps.probes}


def test_probes_inside_are_admitted_and_counterexamples_denied_by_the_concrete_evaluator(checked, probe_set) -> None:
    """Every probe re-evaluated without BDDs: inside and boundary probes pass every modelled path (and their
    answers come back), counterexamples are dropped on every path; each lies inside / outside its region."""
    c, _ = checked
    kinds = {"inside": 0, "boundary": 0, "counterexample": 0}
    regions = {r.id: r for r in probe_set.regions}
    for p in probe_set.probes:
        pkt = _packet(p)
        paths = c.paths(pkt)
        assert paths, p
        verdict = [admits(path, pkt) for path in paths]
        if p.kind in ("inside", "boundary"):
            assert all(verdict) and p.expected == p.offline == "allowed", (p, c.explain(pkt))
            assert p.rule and "reply" not in p.rule, p
            r = regions[p.region]
            assert re.search(rf"\b{p.dport}\b", r.text) or p.protocol == "icmp", (p, r.text)
        else:
            assert not any(verdict) and p.expected == p.offline == "denied", (p, c.explain(pkt))
        kinds[p.kind] += 1
        assert p.protocol in ("tcp", "udp", "icmp") and (p.protocol != "tcp" or p.flags == 2)
    assert all(kinds.values()), kinds


def test_probe_addresses_are_the_labs(checked, probe_set, bundled_build: Path) -> None:
    """Sources and destinations are the lab's: the internet and city probe hosts, or hosts of in-scope segments
    that are no device's interface address unless the region names that device (a server)."""
    c, _ = checked
    infra = {str(a.ip) for d in c.net.devices.values() for a in d.addresses.values()}
    servers = {str(a.ip) for h, d in c.net.devices.items() if c.net.roles[h] == "server" for a in d.addresses.values()}
    for p in probe_set.probes:
        for addr, zone in ((p.src, p.src_zone), (p.dst, p.dst_zone)):
            if zone == "internet":
                assert addr == "192.0.2.100", p
            elif zone == "city":
                assert ipaddress.IPv4Address(addr).packed[-1] == 100, p
            else:
                assert addr not in infra or addr in servers, p


def test_probe_set_round_trip_and_provenance(probe_set, bundled_build: Path, tmp_path: Path) -> None:
    text = probe_set_json(probe_set)
    again = parse_probe_set(text)
    assert again.probes == probe_set.probes and again.regions == probe_set.regions
    path = tmp_path / PROBES_FILE
    path.write_text(text)
    assert read_probe_set(path, bundled_build).pairs == probe_set.pairs
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text("{}")
    with pytest.raises(ProbeSetError, match="another build"):
        read_probe_set(path, other)
    path.write_text(text.replace('"schema": "countynet-probe-set/1"', '"schema": "x/9"'))
    with pytest.raises(ProbeSetError, match="schema"):
        read_probe_set(path, bundled_build)


def test_verify_cli_writes_probes_and_a_bad_scope_exits_2(bundled_build: Path, tmp_path: Path) -> None:
    res = verify("--build", str(bundled_build), "--offline", "--reports", str(tmp_path), "--probes",
                 "township:nowhere")
    assert res.returncode == 2 and "township:nowhere" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / PROBES_FILE).exists()
    res = verify("--build", str(bundled_build), "--offline", "--reports", str(tmp_path), "--probes", SCOPE,
                 "--compare")
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads((tmp_path / "engines.json").read_text())
    assert data["result"] == "agreement" and data["summary"]["disagree"] == 0
    assert data["sources"]["batfish"] == "no server" and data["sources"]["lab"] == "lab not run"
    rows = data["rows"]
    engine_rows = [r for r in rows if not r["what"].startswith("region ")]
    assert {r["batfish"] for r in engine_rows} == {"no server"} and {r["lab"] for r in engine_rows} == {"lab not run"}
    regions = [r for r in rows if r["what"].startswith("region ")]
    assert regions and all(r["lab"].startswith("packets of the region: see probe") for r in regions)
    probes = [r for r in rows if r["what"].startswith("probe ")]
    assert len(probes) == len(read_probe_set(tmp_path / PROBES_FILE, bundled_build).probes)
    assert all(r["status"] == "agree" and r["note"] == "proven by offline" for r in probes)
    assert "| status | what |" in (tmp_path / "engines.md").read_text()



def _verify_disagrees(out: Path, tmp_path: Path) -> tuple[Path, ProbeSet]:
    """`verify --offline --probes SCOPE --compare` on a mutated build: it must exit 1; the reports dir and probe set."""
    reports = tmp_path / "reports"
    res = verify("--build", str(out), "--allow-modified", "--offline", "--reports", str(reports), "--probes", SCOPE,
                 "--compare")
    assert res.returncode == 1, res.stdout + res.stderr
    return reports, read_probe_set(reports / PROBES_FILE, out)


def test_a_dropped_final_deny_shows_in_the_table(bundled_build: Path, tmp_path: Path) -> None:
    """yx-core-1's compound filter without its final deny (Huawei forwards what no rule matches): the network
    admits regions the policy does not; the probe set lists them (kind network-only) with a probe inside each,
    and the three-engine table shows the disagreement and exits 1. The leak is one-way (the answers are still
    dropped), so the probes' connections fail as the policy says: the table says so too."""
    out = mutate(bundled_build, tmp_path, "yx-core-1", drop_final_deny)
    reports, ps = _verify_disagrees(out, tmp_path)
    extra = [r for r in ps.regions if r.kind == "network-only"]
    assert extra and all(r.src_zone == "compound" for r in extra), [r.text for r in extra][:5]
    wrong = [p for p in ps.probes if p.kind == "inside" and p.region in {r.id for r in extra}]
    assert wrong and all(p.expected == "denied" for p in wrong)
    data = json.loads((reports / "engines.json").read_text())
    assert data["result"] == "disagreement"
    bad = [r for r in data["rows"] if r["status"] == "disagree"]
    assert {r["what"].split()[1] for r in bad} == {r.id for r in extra}
    assert all(r["offline"] == "allowed" and r["expected"] == "denied" for r in bad)
    assert "offline sees it otherwise than the policy" in bad[0]["note"]


def test_a_swapped_permit_shows_in_the_probes(bundled_build: Path, tmp_path: Path) -> None:
    """The city edge's reply line for the units turned into a deny: the units' connections to the city fail; the
    probes of those regions are expected allowed and offline sees them denied: probe rows disagree."""
    def change(text: str) -> str:
        m = re.search(r"^( \d+ )permit (tcp 10\.36\.\S+ .*established)$", text, flags=re.M)
        assert m, "no reply line on the city edge"
        return text[:m.start()] + f"{m.group(1)}deny {m.group(2)}" + text[m.end():]

    out = mutate(bundled_build, tmp_path, "yx-city-1", change)
    reports, ps = _verify_disagrees(out, tmp_path)
    lost = [p for p in ps.probes if p.expected == "allowed" and p.offline == "denied"]
    assert lost and all(p.dst_zone == "city" and p.protocol == "tcp" for p in lost), lost[:3]
    data = json.loads((reports / "engines.json").read_text())
    probe_rows = [r for r in data["rows"] if r["what"].startswith("probe ") and r["status"] == "disagree"]
    assert len(probe_rows) == len(lost)
    assert all(r["expected"] == "allowed" and r["offline"] == "denied" for r in probe_rows)


def test_compare_refuses_reports_of_another_build(bundled_build: Path, tmp_path: Path) -> None:
    res = verify("--build", str(bundled_build), "--offline", "--reports", str(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    (tmp_path / "lab-test.json").write_text(json.dumps({"build_manifest": "0" * 64, "flows": []}))
    with pytest.raises(ProbeSetError, match="another build"):
        compare_engines(bundled_build, tmp_path, tmp_path, tmp_path / "lab-test.json")


class ProbeAnswers:
    """Stands in for a Batfish server (none can run here: it needs Docker) behind BatfishChecks.probe_verdict: it
    answers every probe as `fate(probe)` says and records where it was asked to start."""

    def __init__(self, fate) -> None:  # type: ignore[no-untyped-def]
        self.fate = fate
        self.starts: list[str] = []

    def probe_verdict(self, snapshot: str, probe, start: str) -> str:  # type: ignore[no-untyped-def]
        assert snapshot == "candidate"
        self.starts.append(start)
        return str(self.fate(probe))


def test_batfish_column_of_the_table(bundled_build: Path, probe_set, tmp_path: Path) -> None:
    """Batfish's verdicts on the probes (a double: no server here) fill the table's Batfish column; one probe
    Batfish sees otherwise makes that row disagree and the table exit 1. The headers Batfish is asked are the
    probe's exact ones."""
    from countynet.outputs.reports import write_reports
    from countynet.verify.batfish_run import batfish_probes, probe_headers
    from countynet.verify.offline_run import report_data, run_offline

    b = BuildReader(bundled_build)
    digest = manifest_digest(bundled_build)
    off = report_data(run_offline(b))
    off["build_manifest"] = digest
    write_reports(tmp_path, "verify-offline", off, [], [], "offline")
    (tmp_path / PROBES_FILE).write_text(probe_set_json(probe_set))
    flipped = probe_set.probes[0]
    double = ProbeAnswers(lambda p: ("allowed" if p.expected == "denied" else "denied") if p == flipped
                          else p.expected)
    pv = batfish_probes(b, double, "candidate", probe_set.probes)
    assert len(pv) == len(double.starts) == len(probe_set.probes) and all(double.starts)
    assert [v.flow for v in pv if v.status == "mismatch"] == [flipped.flow()]
    write_reports(tmp_path, "verify-batfish", {"build_manifest": digest, "flows": [], "probes":
                                                [v.as_dict() for v in pv]}, [], [], "batfish")
    data, _, _ = compare_engines(bundled_build, tmp_path, tmp_path / "out")
    bad = [r for r in data["rows"] if r["status"] == "disagree"]
    assert len(bad) == 1 and bad[0]["what"].startswith(f"probe {flipped.id} ") and "batfish" in bad[0]["note"]
    assert data["summary"]["batfish observed"] == len(probe_set.probes)
    tcp = next(p for p in probe_set.probes if p.protocol == "tcp")
    assert probe_headers(tcp) == {"srcIps": tcp.src, "dstIps": tcp.dst, "ipProtocols": ["TCP"],
                                  "srcPorts": str(tcp.sport), "dstPorts": str(tcp.dport)}
    icmp = next((p for p in probe_set.probes if p.protocol == "icmp"), None)
    if icmp is not None:
        assert probe_headers(icmp)["icmpTypes"] == [8]


def test_what_the_lab_cannot_send_is_named(probe_set) -> None:
    """The lab sends TCP SYN, UDP and ICMP echo to ports 1-65535; anything else is unproven with the reason (the
    drawer never draws such probes; a probe set from elsewhere could hold them)."""
    import dataclasses

    from countynet.lab.probe import sendable

    tcp = next(p for p in probe_set.probes if p.protocol == "tcp")
    assert sendable(tcp) == ""
    assert "SYN" in sendable(dataclasses.replace(tcp, flags=18))
    assert "port 0" in sendable(dataclasses.replace(tcp, dport=0))
    icmp = dataclasses.replace(tcp, protocol="icmp", sport=0, dport=0, flags=0, icmp_type=3, icmp_code=1)
    assert "ICMP echo only" in sendable(icmp)
    assert sendable(dataclasses.replace(icmp, icmp_type=8, icmp_code=0)) == ""
    assert "tcp, udp and icmp only" in sendable(dataclasses.replace(icmp, protocol="gre", icmp_type=0, icmp_code=0))
