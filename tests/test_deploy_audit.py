"""Deploy integrity: the hash-chained audit log, its syslog copy (RFC 5424/UDP), and `--commit` never pushing
a build that differs from its manifest. Devices are the vendor CLI simulator (a double for a Huawei box,
which cannot exist here); the syslog server is a real UDP socket on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from countynet.deploy import audit, syslog
from countynet.deploy.engine import UsageError, deploy
from countynet.deploy.model import Outcome
from tests.deploy_helpers import Workspace, make_intent
from tests.simulators.vendor_cli import Device, Simulator

ROOT = Path(__file__).resolve().parent.parent
CFG = "sysname R1\ninterface GigabitEthernet0/0/1\n description {d}\n ip address 10.0.0.1 255.255.255.252\n"
INTENDED = ("sysname R1\naaa\n local-user auditor password irreversible-cipher ${secret:aaa-auditor}\n"
            "interface GigabitEthernet0/0/1\n description new\n ip address 10.0.0.1 255.255.255.252\n")
SECRET = "Syslog-Must-Not-See-91ab"


def three_records(path: Path) -> list[bytes]:
    for i in range(3):
        audit.append(path, {"device": f"r{i}", "result": "committed", "detail": f"record {i}"})
    return path.read_bytes().splitlines(keepends=True)


def test_chain_intact(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    raw = three_records(p)
    assert audit.verify(p) == []
    recs = audit.read(p)
    assert recs[0]["prev_sha256"] == audit.GENESIS
    assert recs[2]["prev_sha256"] == audit.line_hash(raw[1])


def test_edited_record_is_detected(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    raw = three_records(p)
    raw[1] = raw[1].replace(b'"committed"', b'"rolled-back"')
    p.write_bytes(b"".join(raw))
    problems = audit.verify(p)
    assert len(problems) == 1 and f"{p}:3:" in problems[0] and "chain broken" in problems[0]


def test_removed_record_is_detected(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    raw = three_records(p)
    p.write_bytes(raw[0] + raw[2])
    problems = audit.verify(p)
    assert len(problems) == 1 and f"{p}:2:" in problems[0]


def test_verify_audit_cli_exit_codes(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    raw = three_records(p)

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "countynet.cli.deploy", "deploy", "--verify-audit", str(path)],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)

    ok = run(p)
    assert ok.returncode == 0 and "hash chain intact" in ok.stdout and "3 record(s)" in ok.stdout, ok.stdout
    p.write_bytes(raw[1] + raw[2])            # the first record removed
    bad = run(p)
    assert bad.returncode == 1 and "BROKEN" in bad.stdout and f"{p}:1:" in bad.stdout, bad.stdout
    gone = run(tmp_path / "nope.jsonl")
    assert gone.returncode == 2 and "not found" in gone.stderr and "Traceback" not in gone.stderr


def test_format_5424_header() -> None:
    msg = syslog.format_5424("hello 审计", "warning", hostname="h1")
    head, _, body = msg.partition(b"\xef\xbb\xbf")
    assert re.fullmatch(rb"<132>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z h1 countynet-deploy \d+ audit - ", head)
    assert body.decode() == "hello 审计"
    assert syslog.parse_server("10.1.2.3") == ("10.1.2.3", 514)
    assert syslog.parse_server("127.0.0.1:5514") == ("127.0.0.1", 5514)
    assert syslog.parse_server("[::1]:5514") == ("::1", 5514)


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Workspace, Device]]:
    monkeypatch.setenv("COUNTYNET_USERNAME", "netadmin")
    monkeypatch.setenv("COUNTYNET_PASSWORD", "sim-pass")
    monkeypatch.delenv("COUNTYNET_SSH_KEY", raising=False)
    monkeypatch.setenv("COUNTYNET_SECRET_AAA_AUDITOR", SECRET)
    dev = Device("R1", "vrp8", CFG.format(d="old"), minute=8.0)
    s = Simulator(dev).start()
    ws = Workspace(tmp_path)
    ws.known_hosts_lines.append(s.known_hosts_line())
    ws.add(make_intent("r1", "huawei_vrpv8", "127.0.0.1", iface="GigabitEthernet0/0/1"), "huawei_vrpv8",
           "127.0.0.1", s.port, INTENDED)
    yield ws, dev
    s.stop()


def test_audit_records_reach_a_syslog_listener(sim: tuple[Workspace, Device]) -> None:
    ws, dev = sim
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as lis:
        lis.bind(("127.0.0.1", 0))
        lis.settimeout(10)
        port = lis.getsockname()[1]
        r = deploy(ws.options(commit=True, syslog_servers=[f"127.0.0.1:{port}"])).results["r1"]
        assert r.outcome == Outcome.COMMITTED, r.detail
        assert any(SECRET in line for line in dev.render().splitlines())   # the device got the value
        data, _ = lis.recvfrom(65535)
    head, _, body = data.partition(b"\xef\xbb\xbf")
    assert re.match(rb"<134>1 \S+ \S+ countynet-deploy \d+ audit - $", head), head
    rec = json.loads(body)
    stored = (ws.root / "audit.jsonl").read_text().splitlines()
    assert json.loads(stored[-1]) == rec                       # the same record, chained
    assert rec["device"] == "r1" and rec["result"] == "committed" and "prev_sha256" in rec
    assert SECRET.encode() not in data
    assert audit.verify(ws.root / "audit.jsonl") == []


def test_commit_refuses_a_modified_build_even_with_allow_modified(sim: tuple[Workspace, Device]) -> None:
    ws, dev = sim
    cfg = ws.build / "configs" / "r1" / "r1.cfg"
    cfg.write_text(cfg.read_text() + "interface GigabitEthernet0/0/2\n description hand-edited\n")
    before = dev.render()
    with pytest.raises(UsageError, match="preview-only"):
        deploy(ws.options(commit=True, allow_modified=True))
    with pytest.raises(UsageError, match=r"r1\.cfg"):
        deploy(ws.options(commit=True))
    assert dev.render() == before and dev.events == []
    # a preview may still look at the hand-edited file, and says so
    rep = deploy(ws.options(allow_modified=True))
    assert rep.results["r1"].outcome == Outcome.WOULD_CHANGE
    assert "hand-edited" in rep.results["r1"].diff and rep.warnings
    assert dev.render() == before
