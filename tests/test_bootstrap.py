"""The township technician's self-check script, run for real in network namespaces.

A "pc" namespace (the technician's PC, addressed in the township LAN) is wired to a "net" namespace that
answers as the township gateway and as the centre's servers (their real addresses on its loopback, real TCP
listeners). The script's own commands (ip, ping, nc or bash /dev/tcp) run unmodified.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from countynet.outputs.kits import bootstrap_files
from tests.conftest import require_root


def test_every_township_gets_a_kit_that_parses(bundled) -> None:
    files = bootstrap_files(bundled.intents)
    towns = {tw.id for tw in bundled.topology.townships}
    assert {p.split("/")[1] for p in files} == towns
    for path, text in files.items():
        if path.endswith(".sh"):
            proc = subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True)
            assert proc.returncode == 0, (path, proc.stderr)
            assert "错误" in text and "E03" in text


def _ns(name: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", name, *cmd], capture_output=True, text=True, check=check)


@pytest.fixture()
def township_net(bundled, tmp_path: Path):
    require_root()
    if not shutil.which("ip"):
        pytest.skip("iproute2 not installed")
    tag = f"cnbt{os.getpid() % 100000}"
    pc, net = f"{tag}pc", f"{tag}net"
    procs: list[subprocess.Popen[bytes]] = []
    sw = bundled.intents["yx-litian-sw1"]
    svi = next(i for i in sw.interfaces if i.kind == "svi" and i.zone == "township-lan")
    gw, plen = svi.address.split("/")
    pc_addr = f"{gw.rsplit('.', 1)[0]}.{int(gw.rsplit('.', 1)[1]) + 50}"
    try:
        for n in (pc, net):
            subprocess.run(["ip", "netns", "add", n], check=True)
            _ns(n, "ip", "link", "set", "lo", "up")
        subprocess.run(["ip", "link", "add", f"{tag}a", "type", "veth", "peer", "name", f"{tag}b"], check=True)
        subprocess.run(["ip", "link", "set", f"{tag}a", "netns", pc], check=True)
        subprocess.run(["ip", "link", "set", f"{tag}b", "netns", net], check=True)
        _ns(pc, "ip", "addr", "add", f"{pc_addr}/{plen}", "dev", f"{tag}a")
        _ns(pc, "ip", "link", "set", f"{tag}a", "up")
        _ns(pc, "ip", "route", "add", "default", "via", gw)
        _ns(net, "ip", "addr", "add", svi.address, "dev", f"{tag}b")
        _ns(net, "ip", "link", "set", f"{tag}b", "up")
        servers = {h: d.interfaces[0].address.split("/")[0] for h, d in bundled.intents.items()
                   if h in ("yx-portal-1", "yx-dns-1", "yx-oa-1", "yx-docex-1")}
        for addr in servers.values():
            _ns(net, "ip", "addr", "add", f"{addr}/32", "dev", "lo")
        listeners = {(servers["yx-portal-1"], 443), (servers["yx-oa-1"], 443), (servers["yx-docex-1"], 443),
                     (servers["yx-dns-1"], 53)}

        def listen(addr: str, port: int) -> subprocess.Popen[bytes]:
            code = ("import socket,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                    f"s.bind(('{addr}',{port}));s.listen(16)\nwhile True:\n c,_=s.accept();c.close()\n")
            p = subprocess.Popen(["ip", "netns", "exec", net, sys.executable, "-c", code])
            procs.append(p)
            return p

        handles = {key: listen(*key) for key in listeners}
        time.sleep(0.5)
        yield {"pc": pc, "dns": servers["yx-dns-1"], "handles": handles}
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=5)
        for n in (pc, net):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def _run(bundled, pc: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "check-network.sh"
    script.write_text(bootstrap_files(bundled.intents)["bootstrap/litian/check-network.sh"], encoding="utf-8")
    return _ns(pc, "sh", str(script), check=False)


@pytest.mark.root
def test_script_passes_on_a_working_township(bundled, township_net, tmp_path: Path) -> None:
    proc = _run(bundled, township_net["pc"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # address, gateway, centre, DNS, then portal, OA and document exchange
    assert proc.stdout.count("[通过 OK]") == 7 and "全部通过" in proc.stdout


@pytest.mark.root
def test_script_names_the_first_failure_in_chinese_and_english(bundled, township_net, tmp_path: Path) -> None:
    dns = township_net["dns"]
    p = township_net["handles"][(dns, 53)]
    p.terminate()
    p.wait(timeout=5)
    proc = _run(bundled, township_net["pc"], tmp_path)
    assert proc.returncode == 1
    assert "[失败 FAILED] 错误 E04: 域名解析服务不通 / The DNS server does not answer" in proc.stdout
    assert "致电县信息中心" in proc.stdout and proc.stdout.count("[通过 OK]") == 3
