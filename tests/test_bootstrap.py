"""The field kit's shell check, run for real in network namespaces (issue 13, part 7).

A "pc" namespace (the technician's PC, addressed in a township or village LAN) is wired to a "net"
namespace that answers as the local gateway and as the centre: the portal's gateway (the DMZ VRRP address),
the portal and business systems (real TCP listeners on their real addresses) and the county DNS server
(dnsmasq answering a real A query for portal.<domain>). The script's own commands (ip, ping, nc or bash
/dev/tcp, and bash /dev/udp for DNS here, since the PC has no dig/nslookup/host) run unmodified. Each
failure is made by breaking exactly one thing, and the test checks the code the script names.
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

SITES = {"township": "bootstrap/litian/check-network.sh", "village-vpn": "bootstrap/shiqiao/bailu/check-network.sh"}


def test_every_township_and_village_gets_a_kit_that_parses(bundled) -> None:
    files = bootstrap_files(bundled.intents)
    towns = {tw.id for tw in bundled.topology.townships}
    villages = {f"{tw.id}/{v.id}" for tw in bundled.topology.townships for v in tw.villages}
    kits = {p.rsplit("/", 1)[0].removeprefix("bootstrap/") for p in files}
    assert kits == towns | villages and len(villages) == 238
    for path, text in files.items():
        if path.endswith(".sh"):
            proc = subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True)
            assert proc.returncode == 0, (path, proc.stderr)
            assert "错误" in text and "E03" in text and "E05" in text


def _ns(name: str, *cmd: str, check: bool = True, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", name, *cmd], capture_output=True, text=True, check=check, **kw)


def _host(addr: str, delta: int) -> str:
    a, b = addr.rsplit(".", 1)
    return f"{a}.{int(b) + delta}"


@pytest.fixture(params=sorted(SITES))
def site_net(request, bundled, tmp_path: Path):
    require_root()
    if not shutil.which("ip"):
        pytest.skip("iproute2 not installed")
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not Path(dnsmasq).exists():
        pytest.skip("dnsmasq not installed (scripts/lab-packages.txt: dnsmasq-base)")
    kind = request.param
    tag = f"cnbt{os.getpid() % 10000}{kind[0]}"
    pc, net = f"{tag}pc", f"{tag}net"
    procs: list[subprocess.Popen[bytes]] = []
    if kind == "township":
        dev = bundled.intents["yx-litian-sw1"]
        lan = next(i for i in dev.interfaces if i.kind == "svi" and i.zone == "township-lan")
    else:
        dev = bundled.intents["yx-shiqiao-bailu"]
        assert dev.vpn and dev.vpn.role == "spoke"
        lan = next(i for i in dev.interfaces if i.zone == "village-lan")
    gw, plen = lan.address.split("/")
    pc_addr = _host(gw, 5)
    portal = bundled.intents["yx-portal-1"]
    centre_gw = portal.server.gateway
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
        _ns(net, "ip", "addr", "add", lan.address, "dev", f"{tag}b")
        _ns(net, "ip", "link", "set", f"{tag}b", "up")
        servers = {h: bundled.intents[h].interfaces[0].address.split("/")[0]
                   for h in ("yx-portal-1", "yx-dns-1", "yx-oa-1", "yx-docex-1")}
        for addr in [*servers.values(), centre_gw]:
            _ns(net, "ip", "addr", "add", f"{addr}/32", "dev", "lo")

        def listen(addr: str, port: int) -> subprocess.Popen[bytes]:
            code = ("import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                    f"s.bind(('{addr}',{port}));s.listen(16)\nwhile True:\n c,_=s.accept();c.close()\n")
            p = subprocess.Popen(["ip", "netns", "exec", net, sys.executable, "-c", code])
            procs.append(p)
            return p

        handles = {h: listen(servers[h], 443) for h in ("yx-portal-1", "yx-oa-1", "yx-docex-1")}
        domain = portal.management.domain
        handles["dns"] = subprocess.Popen(
            ["ip", "netns", "exec", net, dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts",
             "--bind-interfaces", f"--listen-address={servers['yx-dns-1']}", "--port=53", "--user=root",
             f"--pid-file={tmp_path / 'dnsmasq.pid'}", f"--address=/portal.{domain}/{servers['yx-portal-1']}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(handles["dns"])
        time.sleep(0.7)
        # a loaded machine can take seconds to bring the veth pair up: wait until the PC reaches its gateway, so
        # that the kit's own first step (2 pings, 2 s each) tests the kit and not the fixture's set-up
        deadline = time.monotonic() + 20
        while _ns(pc, "ping", "-c", "1", "-W", "1", gw, check=False).returncode != 0:
            assert time.monotonic() < deadline, f"fixture: {pc} never reached its gateway {gw}"
        yield {"kind": kind, "pc": pc, "net": net, "handles": handles, "centre_gw": centre_gw, "tag": tag,
               "portal": servers["yx-portal-1"], "domain": domain}
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=5)
        for n in (pc, net):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def _run(bundled, env: dict, tmp_path: Path, path: str = "") -> subprocess.CompletedProcess[str]:
    script = tmp_path / "check-network.sh"
    script.write_text(bootstrap_files(bundled.intents)[SITES[env["kind"]]], encoding="utf-8")
    return _ns(env["pc"], "env", f"PATH={path or os.environ['PATH']}", f"RESULT_DIR={tmp_path}", "sh", str(script),
               check=False, cwd=tmp_path)


def _stop(p: subprocess.Popen[bytes]) -> None:
    p.terminate()
    p.wait(timeout=5)


def _result_file(tmp_path: Path, proc: subprocess.CompletedProcess[str]) -> str:
    files = list(tmp_path.glob("check-result-*.txt"))
    assert len(files) == 1, files
    text = files[0].read_text(encoding="utf-8")
    assert text.strip() and text.strip().splitlines()[-1] in proc.stdout  # the result file holds what was shown
    return text


@pytest.mark.root
def test_passes_on_a_working_site_with_a_real_dns_lookup(bundled, site_net, tmp_path: Path) -> None:
    proc = _run(bundled, site_net, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # address, gateway, centre, DNS (resolved to the portal's address), then portal, OA and document exchange
    assert proc.stdout.count("[通过 OK]") == 7 and "全部通过" in proc.stdout
    assert f"portal.{site_net['domain']} -> {site_net['portal']}" in proc.stdout
    assert "全部通过" in _result_file(tmp_path, proc)


@pytest.mark.root
def test_dns_down_is_e04(bundled, site_net, tmp_path: Path) -> None:
    _stop(site_net["handles"]["dns"])
    proc = _run(bundled, site_net, tmp_path)
    assert proc.returncode == 1
    assert "[失败 FAILED] 错误 E04: 域名解析失败" in proc.stdout and proc.stdout.count("[通过 OK]") == 3
    assert "E04" in _result_file(tmp_path, proc)


@pytest.mark.root
def test_portal_closed_with_the_centre_reachable_is_a_server_fault_e05_not_e03(bundled, site_net,
                                                                              tmp_path: Path) -> None:
    _stop(site_net["handles"]["yx-portal-1"])
    proc = _run(bundled, site_net, tmp_path)
    assert proc.returncode == 1
    assert "[失败 FAILED] 错误 E05: 业务系统打不开（服务器故障，线路正常）" in proc.stdout, proc.stdout
    assert "E03" not in proc.stdout.split("[失败 FAILED]")[1] and proc.stdout.count("[通过 OK]") == 4


@pytest.mark.root
def test_centre_unreachable_is_a_line_fault_e03(bundled, site_net, tmp_path: Path) -> None:
    _ns(site_net["net"], "ip", "addr", "del", f"{site_net['centre_gw']}/32", "dev", "lo")
    _ns(site_net["net"], "ip", "route", "add", "prohibit", f"{site_net['centre_gw']}/32")
    proc = _run(bundled, site_net, tmp_path)
    assert proc.returncode == 1
    assert "[失败 FAILED] 错误 E03: 无法连通县信息中心（线路故障" in proc.stdout and proc.stdout.count("[通过 OK]") == 2
    want = "专线 leased line" if site_net["kind"] == "township" else "宽带和VPN隧道 broadband and VPN tunnel"
    assert want in proc.stdout


@pytest.mark.root
def test_no_ip_tool_is_told_apart_from_no_address(bundled, site_net, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "ping", "awk", "cut", "tr", "grep", "date", "uname", "env", "timeout", "bash", "od", "dd",
                 "head"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    proc = _run(bundled, site_net, tmp_path, path=str(bin_dir))
    assert proc.returncode == 1
    assert "[失败 FAILED] 错误 E01: 本机缺少查看地址的命令" in proc.stdout, proc.stdout
    # with the tool but outside the LAN: the other E01
    _ns(site_net["pc"], "ip", "addr", "flush", "dev", f"{site_net['tag']}a")
    _ns(site_net["pc"], "ip", "addr", "add", "192.0.2.5/24", "dev", f"{site_net['tag']}a")
    for f in tmp_path.glob("check-result-*.txt"):
        f.unlink()
    proc = _run(bundled, site_net, tmp_path)
    assert "[失败 FAILED] 错误 E01: 本机没有获得本单位网段的地址" in proc.stdout and "192.0.2.5" in proc.stdout
