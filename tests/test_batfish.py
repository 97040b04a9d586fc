"""Batfish: the snapshot's files and formats, the answer-to-verdict mapping, the no-server path, and (only
when BATFISH_HOST names a real server) the full verification.

The mapping tests build answer frames exactly like pybatfish's documented columns (a Batfish server cannot
run on this machine: no Docker); they use pybatfish's own Trace objects, not mocks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pybatfish.datamodel.flow import Trace

from countynet.outputs.batfish_snapshot import PHYSICAL, cisco_name, layer1, snapshot_files
from countynet.render.engine import render_all
from countynet.verify import batfish_run as bf
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def snapshot(bundled):
    configs = render_all({h: d for h, d in bundled.intents.items() if d.platform == "cisco_ios"})
    files, problems = snapshot_files(bundled.intents, configs)
    assert problems == []
    return files


def test_every_device_has_a_snapshot_file_with_the_right_header(bundled, snapshot) -> None:
    for host, d in bundled.intents.items():
        if d.role == "server":
            assert f"batfish/hosts/{host}.json" in snapshot
            assert f"batfish/iptables/{host}.iptables" in snapshot
            continue
        text = snapshot[f"batfish/configs/{host}.cfg"]
        assert text.startswith("!BATFISH_FORMAT: cisco_ios\n")
        if d.platform == "cisco_ios":
            assert "native Cisco IOS" in text.splitlines()[1]
        else:
            assert "VERIFICATION RENDERING" in text.splitlines()[1] and d.platform in text.splitlines()[1]
            assert f"hostname {host}" in text


def test_host_json_follows_the_documented_format(bundled, snapshot) -> None:
    for host, d in bundled.intents.items():
        if d.role != "server":
            continue
        data = json.loads(snapshot[f"batfish/hosts/{host}.json"])
        assert set(data) == {"hostname", "iptablesFile", "hostInterfaces"}
        assert data["iptablesFile"] in {k.removeprefix("batfish/") for k in snapshot}
        for name, itf in data["hostInterfaces"].items():
            assert itf["name"] == name and "/" in itf["prefix"] and itf["gateway"] == d.server.gateway
        ipt = snapshot[f"batfish/iptables/{host}.iptables"]
        assert ipt.startswith("*filter\n:INPUT DROP") and ipt.rstrip().endswith("COMMIT")
        for s in d.server.services:
            if s.protocol != "icmp":
                assert f"-p {s.protocol} --dport {s.port_min}" in ipt


def test_layer1_has_every_physical_link_once(bundled, snapshot) -> None:
    data = json.loads(snapshot["batfish/batfish/layer1_topology.json"])
    edges = {frozenset({(e["node1"]["hostname"], e["node1"]["interfaceName"]),
                        (e["node2"]["hostname"], e["node2"]["interfaceName"])}) for e in data["edges"]}
    assert len(edges) == len(data["edges"])
    for e in data["edges"]:
        assert set(e) == {"node1", "node2"} and set(e["node1"]) == {"hostname", "interfaceName"}
    wanted = set()
    for host, d in bundled.intents.items():
        for i in d.interfaces:
            if i.kind in PHYSICAL and i.peer and i.peer.host in bundled.intents:
                far = bundled.intents[i.peer.host].flavour
                wanted.add(frozenset({(host, cisco_name(i.name, d.flavour)),
                                      (i.peer.host, cisco_name(i.peer.interface, far))}))
    assert edges == wanted
    # and every edge names interfaces that exist in the verification configs
    for e in data["edges"]:
        for n in ("node1", "node2"):
            cfg = snapshot.get(f"batfish/configs/{e[n]['hostname']}.cfg")
            if cfg is not None:
                assert f"interface {e[n]['interfaceName']}\n" in cfg, e[n]


def test_layer1_rejects_a_one_sided_link(bundled) -> None:
    intents = dict(bundled.intents)
    d = intents["yx-wan-1"]
    ifaces = [i.model_copy(update={"peer": i.peer.model_copy(update={"interface": "GigabitEthernet9/9/9"})})
              if i.peer and i.kind == "routed" else i for i in d.interfaces]
    intents["yx-wan-1"] = d.model_copy(update={"interfaces": ifaces})
    _, problems = layer1(intents)
    assert problems and "does not point back" in problems[0].message


def test_isp_config_names_the_firewalls_outside(snapshot) -> None:
    data = json.loads(snapshot["batfish/batfish/isp_config.json"])
    hosts = {b["borderInterface"]["hostname"] for b in data["borderInterfaces"]}
    assert hosts == {"yx-fw-1", "yx-fw-2"}


# ----------------------------------------------------------------------------- answer mapping

def test_parse_status_mapping() -> None:
    frame = pd.DataFrame([{"File_Name": "configs/a.cfg", "Status": "PASSED", "File_Format": "CISCO_IOS",
                           "Nodes": ["a"]},
                          {"File_Name": "configs/b.cfg", "Status": "PARTIALLY_UNRECOGNIZED", "File_Format": "CISCO_IOS",
                           "Nodes": ["b"]}])
    out = bf.parse_findings(frame)
    assert [f.subject for f in out] == ["configs/b.cfg"] and "PARTIALLY_UNRECOGNIZED" in out[0].message


def test_session_mappings() -> None:
    ospf = pd.DataFrame([{"Interface": "a[Gi0/1]", "VRF": "default", "IP": "10.0.0.1", "Area": 0,
                          "Remote_Interface": "b[Gi0/1]", "Remote_VRF": "default", "Remote_IP": "10.0.0.2",
                          "Remote_Area": 0, "Session_Status": "ESTABLISHED"},
                         {"Interface": "a[Gi0/2]", "VRF": "default", "IP": "10.0.0.5", "Area": 0,
                          "Remote_Interface": "c[Gi0/1]", "Remote_VRF": "default", "Remote_IP": "10.0.0.6",
                          "Remote_Area": 1, "Session_Status": "AREA_MISMATCH"}])
    assert [f.subject for f in bf.ospf_findings(ospf)] == ["a[Gi0/2]"]
    bgp = pd.DataFrame([{"Node": "yx-city-1", "VRF": "default", "Local_AS": 65030, "Local_Interface": None,
                         "Local_IP": "10.36.255.2", "Remote_AS": "65036", "Remote_Node": None,
                         "Remote_Interface": None, "Remote_IP": "10.36.255.1", "Address_Families": ["IPV4_UNICAST"],
                         "Session_Type": "EBGP_SINGLEHOP", "Established_Status": "NOT_COMPATIBLE"},
                        {"Node": "x", "VRF": "default", "Local_AS": 1, "Local_Interface": None, "Local_IP": "1.1.1.1",
                         "Remote_AS": "2", "Remote_Node": "y", "Remote_Interface": None, "Remote_IP": "1.1.1.2",
                         "Address_Families": [], "Session_Type": "EBGP_SINGLEHOP",
                         "Established_Status": "NOT_ESTABLISHED"}])
    out = bf.bgp_findings(bgp, external={"10.36.255.1"})
    assert [f.subject for f in out] == ["x -> 1.1.1.2"]
    ipsec = pd.DataFrame([{"Node": "v", "Node_Interface": "Tunnel1", "Node_IP": "100.64.0.2", "Remote_Node": "hub",
                           "Remote_Node_Interface": "Tunnel3", "Remote_Node_IP": "203.0.113.10",
                           "Tunnel_Interfaces": "Tunnel1 -> Tunnel3", "Status": "IKE_PHASE1_FAILED"}])
    assert "IKE_PHASE1_FAILED" in bf.ipsec_findings(ipsec)[0].message


def test_reachability_and_filter_line_mapping() -> None:
    ok = pd.DataFrame([{"Flow": "f", "Traces": [Trace("DENIED_IN", []), Trace("ACCEPTED", [])], "TraceCount": 2}])
    denied = pd.DataFrame([{"Flow": "f", "Traces": [Trace("DENIED_OUT", [])], "TraceCount": 1}])
    assert bf.reachability_observed(ok) == "allowed"
    assert bf.reachability_observed(denied) == "denied"
    assert bf.reachability_observed(pd.DataFrame(columns=["Flow", "Traces", "TraceCount"])) == "denied"
    flr = pd.DataFrame([{"Sources": ["yx-core-1: CN-FROM-DMZ-1"], "Unreachable_Line": "permit tcp any any",
                         "Unreachable_Line_Action": "PERMIT", "Blocking_Lines": ["permit ip any any"],
                         "Different_Action": False, "Reason": "BLOCKING_LINES", "Additional_Info": None}])
    assert bf.filter_line_findings(flr)[0].kind == "unreachable-line"
    diff = pd.DataFrame([{"Flow": "start=a [10.0.0.1->10.0.0.2 TCP 443]",
                          "Snapshot_Traces": [Trace("DENIED_IN", [])], "Snapshot_TraceCount": 1,
                          "Reference_Traces": [Trace("ACCEPTED", [])], "Reference_TraceCount": 1}])
    assert bf.differential_rows(diff) == [{"flow": "start=a [10.0.0.1->10.0.0.2 TCP 443]", "before": "ACCEPTED",
                                           "after": "DENIED_IN"}]


# ----------------------------------------------------------------------------- servers

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_start_locations_from_the_build(bundled_build: Path) -> None:
    """Every flow of the build's matrix gets a Batfish start location from the build's zones and intents."""
    from countynet.outputs.build_reader import BuildReader

    b = BuildReader(bundled_build)
    zm, intents = b.zone_map(), b.intents()
    starts = {f.key(): bf.start_location(f, zm, intents) for f in b.flows()}
    assert starts and all(s for s in starts.values())
    assert any(s.startswith("@enter(yx-fw-") for s in starts.values())  # the internet comes in at a firewall
    assert bf.snapshot_dir(b) == bundled_build / "batfish"
    assert (bundled_build / "batfish" / "batfish" / "isp_config.json").is_file()


class AnsweringAs:
    """Stands in for a Batfish server (none can run here: it needs Docker) behind BatfishChecks' four calls:
    it answers every flow as `fate(flow)` says and records what it was asked."""

    def __init__(self, fate):
        self.fate = fate
        self.loaded: list[tuple[Path, str]] = []
        self.starts: list[str] = []

    def load(self, snapshot_dir: Path, name: str) -> str:
        self.loaded.append((snapshot_dir, name))
        return name

    def session_checks(self, snapshot: str, external: set[str]) -> list:
        assert external  # the city edge's BGP peer is outside the snapshot
        return []

    def flow_verdict(self, snapshot: str, flow, start: str) -> str:
        self.starts.append(start)
        return self.fate(flow)

    def differential(self, snapshot: str, reference: str) -> list[dict[str, str]]:
        return [{"flow": "f", "before": "ACCEPTED", "after": "DENIED_IN"}]


def test_batfish_verdicts_use_the_shared_model(bundled_build: Path) -> None:
    """run_batfish uploads the build's snapshot, asks every flow of the build's matrix and reports Batfish's
    answers in the shared vocabulary: agreement is clean, a contradiction is a mismatch finding."""
    from countynet.outputs.build_reader import BuildReader
    from countynet.verify.offline_run import run_offline

    b = BuildReader(bundled_build)
    offline = run_offline(b).verdicts
    agree = AnsweringAs(lambda f: f.expected)
    verdicts, findings, diffs = bf.run_batfish(b, agree, offline, reference=b)
    assert agree.loaded == [(bundled_build / "batfish", "candidate"), (bundled_build / "batfish", "reference")]
    assert len(verdicts) == len(offline) == len(agree.starts) and not findings and diffs
    assert {v.status for v in verdicts} == {"ok"} and all(v.where for v in verdicts)
    flipped = offline[0].flow
    other = "denied" if flipped.expected == "allowed" else "allowed"
    verdicts, findings, _ = bf.run_batfish(b, AnsweringAs(lambda f: other if f == flipped else f.expected), offline)
    assert [f.flow for f in findings] == [flipped] and findings[0].kind in ("missing-allow", "extra-allow")
    assert "Batfish" in findings[0].message and verdicts[0].status == "mismatch"


def test_no_server_is_exit_2_with_how_to_start_one(tmp_path: Path) -> None:
    env = dict(os.environ, BATFISH_PORT=str(_free_port()))
    env.pop("BATFISH_HOST", None)
    proc = subprocess.run([sys.executable, "-m", "countynet", "verify", "--batfish", "127.0.0.1",
                           "--build", str(tmp_path / "no-build"), "--reports", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 2
    assert "no Batfish server answered" in proc.stderr and "docker run" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.batfish
def test_against_a_real_batfish_server(tmp_path: Path, bundled_build: Path) -> None:
    host = os.environ.get("BATFISH_HOST")
    if not host:
        pytest.skip("BATFISH_HOST is not set: no Batfish server here (it needs Docker); CI for the centre sets it")
    proc = subprocess.run([sys.executable, "-m", "countynet", "verify", "--batfish", host, "--build",
                           str(bundled_build), "--reports", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=3600)
    data = json.loads((tmp_path / "verify-batfish.json").read_text(encoding="utf-8"))
    assert proc.returncode in (0, 1), proc.stderr
    assert data["summary"]["flows"] > 100
    assert proc.returncode == 0, json.dumps(data["findings"][:20], indent=1)
