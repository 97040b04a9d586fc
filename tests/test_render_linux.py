"""Linux rendering (Debian 12: ifupdown, FRR 8.4, nftables, strongSwan, dnsmasq, chrony, rsyslog, sshd):
golden files, every intent feature on a synthetic device, the Linux rendering of every device of the
build (the lab runs it), and validation of the files by the real tools where they are installed:
`vtysh --dryrun`, `nft -c` inside a throwaway network namespace, `swanctl --load-all` against a private
charon, `dnsmasq --test`, `chronyd -p`, `rsyslogd -N1` and `sshd -t`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from countynet.render.engine import SECRET_PATTERN, render_device
from tests.cisco_linux_samples import feature_intent, golden_diff, linuxify
from tests.update_golden_cisco_linux import GOLDEN_CL

PLATFORM = "linux"


def need(tool: str, package: str) -> str:
    path = shutil.which(tool) or (tool if Path(tool).exists() else None)
    if not path:
        pytest.skip(f"{tool} is not installed (apt-get install -y {package}); CI installs it")
    return path


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network/mount namespaces); CI runs as root")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False, **kw)


@pytest.fixture(scope="module")
def rendered(bundled) -> dict[str, dict[str, str]]:
    """host -> files: every Linux device, the Linux rendering of one device of each other (platform, role)
    after the lab's renaming, and the synthetic feature device."""
    out = {h: render_device(d) for h, d in bundled.intents.items() if d.platform == PLATFORM}
    seen: set[tuple[str, str]] = set()
    for h, d in bundled.intents.items():
        if d.platform != PLATFORM and (d.platform, d.role) not in seen:
            seen.add((d.platform, d.role))
            out[f"{h}@linux"] = render_device(linuxify(d))
    out["yx-feature-1"] = render_device(feature_intent(bundled.intents["yx-city-1"], PLATFORM))
    return out


def files_named(rendered: dict[str, dict[str, str]], name: str) -> Iterator[tuple[str, str]]:
    for host, files in sorted(rendered.items()):
        if name in files:
            yield host, files[name]


@pytest.mark.parametrize("host", GOLDEN_CL[PLATFORM])
def test_golden(bundled, host):
    diff = golden_diff(PLATFORM, host, render_device(bundled.intents[host]))
    assert not diff, "\n" + diff


def test_every_device_renders_for_the_lab(bundled):
    for h, d in bundled.intents.items():
        files = render_device(linuxify(d) if d.platform != PLATFORM else d)
        assert files["etc/hostname"] == f"{h}\n"
        assert "etc/network/interfaces" in files and "etc/nftables.conf" in files
        assert ("etc/frr/frr.conf" in files) == bool(d.routing.ospf or d.routing.bgp
                                                     or any(i.vrrp for i in d.interfaces)), h


def test_server(bundled):
    d = bundled.intents["yx-portal-1"]
    f = render_device(d)
    assert "etc/frr/frr.conf" not in f and "etc/swanctl/swanctl.conf" not in f
    eth0 = d.interface("eth0")
    stanza = f["etc/network/interfaces"].split("iface eth0 inet static\n")[1].split("\n\n")[0]
    assert f"    address {eth0.address}" in stanza
    assert f"    gateway {d.server.gateway}" in stanza
    nft = f["etc/nftables.conf"]
    assert "type filter hook input priority filter; policy drop;" in nft
    assert "ct state established,related accept" in nft
    assert "ip saddr @mgmt_sources tcp dport 22 accept" in nft
    assert f"elements = {{ {', '.join(d.management.allowed_sources)} }}" in nft
    ports = {(s.protocol, s.port_min) for s in d.server.services}
    assert ports == {(p, int(n)) for p, n in re.findall(r"^\t\t(tcp|udp) dport (\d+)", nft, re.M)}
    assert "forward priority filter; policy drop;" in nft
    assert "net.ipv4.ip_forward = 0" in f["etc/sysctl.d/60-countynet.conf"]
    sshd = f["etc/ssh/sshd_config.d/60-countynet.conf"]
    assert "PermitRootLogin no" in sshd
    for u in d.management.users:
        assert f"{u.name}@{d.management.allowed_sources[0]}" in sshd


def test_vpn_hub(bundled):
    d = bundled.intents["yx-vpnhub-1"]
    f = render_device(d)
    sw = f["etc/swanctl/swanctl.conf"]
    conf = parse_swanctl(sw)
    assert list(conf["connections"]) == [p.name for p in d.vpn.peers]
    for p in d.vpn.peers:
        conn = conf["connections"][p.name]
        child = conn["children"][p.name]
        assert conn["remote"]["id"] == p.remote_id and conn["local"]["id"] == p.local_id
        assert conn["remote_addrs"] == "%any" and conn["local_addrs"] == p.local_address
        # route-based (issue 11): selectors 0.0.0.0/0, the XFRM interface's if_id, the village routed into it
        assert p.tunnel_interface and d.interface(p.tunnel_interface).kind == "tunnel"
        assert child["remote_ts"] == child["local_ts"] == "0.0.0.0/0"
        assert child["if_id_in"] == child["if_id_out"] == p.tunnel_interface.removeprefix("xfrm")
        up = next(i.name for i in d.interfaces if i.address and i.address.split("/")[0] == p.local_address)
        assert f"type xfrm dev {up} if_id {child['if_id_in']}\n" in f["etc/network/interfaces"]
        assert {r.prefix for r in d.routing.static if r.interface == p.tunnel_interface} == set(p.remote_networks)
        assert conn["proposals"] == d.vpn.ike_proposal and child["esp_proposals"] == d.vpn.esp_proposal
        assert conn["version"] == str(d.vpn.ike_version)
        assert conf["secrets"][f"ike-{p.name}"]["secret"] == f'"${{secret:{p.psk_secret}}}"'
    frr = f["etc/frr/frr.conf"]
    assert " redistribute static route-map OSPF-REDIST" in frr
    listed = re.findall(r"^ip prefix-list OSPF-REDIST seq \d+ permit (\S+) le 32$", frr, re.M)
    assert listed == d.routing.ospf.redistribute_prefixes and "0.0.0.0/0" not in listed
    for i in d.interfaces:
        if i.ospf and i.kind != "loopback":
            assert f"interface {i.name}\n" in frr
            assert " ip ospf area 0.0.0.0" in frr.split(f"interface {i.name}\n")[1].split("exit")[0]
    nft = f["etc/nftables.conf"]
    assert 'udp dport { 500, 4500 } accept' in nft and "ip protocol esp accept" in nft
    assert re.search(r'iifname \{ "eth0", "eth1" \} ip protocol ospf accept', nft)


def test_feature_device(bundled):
    f = render_device(feature_intent(bundled.intents["yx-city-1"], PLATFORM))
    ifs = f["etc/network/interfaces"]
    assert "iface br10 inet static\n    address 10.30.40.2/24\n    bridge-ports eth5 bond1.10 eth6.10\n" in ifs
    assert "    bond-slaves eth3 eth4\n    bond-mode 802.3ad" in ifs
    assert "iface eth6.30 inet manual\n    vlan-raw-device eth6" in ifs
    assert "pre-up ip link add vrrp4-1-10 link br10 addrgenmode random type macvlan mode bridge" in ifs
    assert "pre-up ip link set dev vrrp4-1-10 address 00:00:5e:00:01:0a" in ifs
    assert "    up ip addr replace 203.0.113.4/32 dev eth2" in ifs  # static NAT address
    frr = f["etc/frr/frr.conf"]
    for line in ("ip route 10.30.0.0/16 blackhole", "ip route 10.30.129.64/28 10.30.4.6 200",
                 " area 0.0.0.11 stub no-summary", " area 0.0.0.11 range 10.30.128.0/20", " area 0.0.0.12 nssa",
                 " area 0.0.0.13 stub", " default-information originate", " vrrp 10 ip 10.30.40.1",
                 " vrrp 10 priority 120", " redistribute bgp route-map OSPF-REDIST",
                 "  neighbor 10.36.255.1 prefix-list BGP-10.36.255.1-IN in", " neighbor 10.30.0.201 update-source lo",
                 " no bgp ebgp-requires-policy", " ip ospf hello-interval 1", " ip ospf dead-interval 4"):
        assert line in frr.splitlines(), line
    assert "10.31.0.0/16" not in [x.split()[2] for x in frr.splitlines() if x.startswith("ip route")]
    nft = f["etc/nftables.conf"]
    chain = nft.split("chain acl_from-core {\n")[1].split("\t}")[0].splitlines()
    assert [c.strip() for c in chain] == [
        'ip saddr 10.30.18.0/24 ip daddr 10.30.17.12 tcp dport 22 return comment "seq 10"',
        'ip daddr 10.30.16.0/24 udp dport 5000-5010 return comment "seq 20"',
        'ct state established,related ip daddr 10.30.40.0/24 ip protocol tcp return comment "seq 30"',
        'ip saddr 10.0.0.0/8 ip protocol icmp return comment "seq 40"',
        'drop comment "seq 50"', 'drop comment "implicit deny"']
    assert 'iifname "eth0" jump acl_from-core' in nft and 'oifname "eth1" jump acl_to-township' in nft
    assert 'oifname "eth2" ip saddr { 10.30.16.0/24, 10.30.40.0/24 } masquerade' in nft
    assert 'iifname "eth2" ip daddr 203.0.113.4 tcp dport 443 dnat to 10.30.16.12:443' in nft
    assert "ip saddr { 203.0.113.10 } udp dport { 500, 4500 } accept" in nft
    sw = f["etc/swanctl/swanctl.conf"]
    assert "local_ts = 10.30.41.0/26" in sw and "remote_ts = 10.30.0.0/16" in sw
    assert "start_action = start" in sw and "remote_addrs = 203.0.113.10" in sw
    dhcp = f["etc/dnsmasq.d/countynet-dhcp.conf"]
    assert "dhcp-range=set:stations,10.30.41.11,10.30.41.50,255.255.255.192,3d" in dhcp
    assert "dhcp-option=tag:stations,option:dns-server,10.30.16.10,10.30.16.11" in dhcp
    assert "dhcp-relay=10.30.40.2,10.30.17.30" in dhcp


def test_interfaces_file_is_consistent(rendered):
    """Every name a stanza refers to is itself declared; Linux names fit IFNAMSIZ (15 bytes)."""
    for host, text in files_named(rendered, "etc/network/interfaces"):
        ifaces = re.findall(r"^iface (\S+) inet (?:static|manual|loopback)$", text, re.M)
        autos = re.findall(r"^auto (\S+)$", text, re.M)
        assert len(autos) == len(set(autos)), host
        assert set(autos) <= set(ifaces), (host, set(autos) - set(ifaces))
        refs = re.findall(r"^    (?:bridge-ports|bond-slaves) (.+)$", text, re.M)
        refs = [r for line in refs for r in line.split() if r != "none"]
        refs += re.findall(r"^    (?:vlan-raw-device|bond-master) (\S+)$", text, re.M)
        refs += re.findall(r"link (\S+) addrgenmode", text)
        assert set(refs) <= set(ifaces), (host, set(refs) - set(ifaces))
        if "@linux" in host or host == "yx-feature-1":
            assert all(len(n) <= 15 for n in ifaces), (host, [n for n in ifaces if len(n) > 15])


def parse_swanctl(text: str) -> dict:
    """swanctl.conf -> nested dict (sections `name {` ... `}`, settings `key = value`); raises on errors."""
    stack: list[dict] = [{}]
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if m := re.fullmatch(r"([\w.-]+) \{", line):
            stack[-1][m.group(1)] = {}
            stack.append(stack[-1][m.group(1)])
        elif line == "}":
            if len(stack) == 1:
                raise ValueError(f"line {n}: unbalanced '}}'")
            stack.pop()
        elif m := re.fullmatch(r"([\w.-]+) = (.+)", line):
            stack[-1][m.group(1)] = m.group(2)
        else:
            raise ValueError(f"line {n}: not a section or setting: {raw!r}")
    if len(stack) != 1:
        raise ValueError("unclosed section at end of file")
    return stack[0]


def test_swanctl_is_well_formed(rendered):
    assert list(files_named(rendered, "etc/swanctl/swanctl.conf"))
    for host, text in files_named(rendered, "etc/swanctl/swanctl.conf"):
        conf = parse_swanctl(text)
        assert set(conf) == {"connections", "secrets"}, host
        for name, c in conf["connections"].items():
            assert {"version", "local_addrs", "remote_addrs", "proposals", "local", "remote", "children"} <= set(c)
            assert c["local"]["auth"] == c["remote"]["auth"] == "psk"
            child = c["children"][name]
            assert {"local_ts", "remote_ts", "esp_proposals"} <= set(child)
            secret = conf["secrets"][f"ike-{name}"]
            assert secret["id"] == c["remote"]["id"]
            assert re.fullmatch(f'"{SECRET_PATTERN}"', secret["secret"]), (host, name)
    with pytest.raises(ValueError):
        parse_swanctl("connections {\n  x {\n    version = 2\n")


# ---------------------------------------------------------------- real tools
def test_frr_conf_passes_vtysh_dryrun(rendered, tmp_path):
    vtysh = need("vtysh", "frr")
    bad = tmp_path / "bad.conf"
    bad.write_text("router ospf\n area 0.0.0.1 stubby\n")
    assert run([vtysh, "--dryrun", "-f", str(bad)]).returncode != 0, "vtysh --dryrun accepts anything?"
    checked = 0
    for host, text in files_named(rendered, "etc/frr/frr.conf"):
        path = tmp_path / f"{host}.conf"
        path.write_text(text)
        res = run([vtysh, "--dryrun", "-f", str(path)])
        assert res.returncode == 0, f"{host}: vtysh --dryrun failed:\n{res.stdout}{res.stderr}"
        checked += 1
    assert checked >= 10


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    need_root()
    need("ip", "iproute2")
    name = f"cl-nft-{uuid.uuid4().hex[:8]}"
    res = run(["ip", "netns", "add", name])
    if res.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {res.stderr.strip()}")
    try:
        yield name
    finally:
        run(["ip", "netns", "del", name])


@pytest.mark.root
def test_nftables_passes_nft_check(rendered, netns, tmp_path):
    nft = need("nft", "nftables")
    bad = tmp_path / "bad.nft"
    bad.write_text("table inet filter {\n chain input {\n  ip protocol bogus accept\n }\n}\n")
    assert run(["ip", "netns", "exec", netns, nft, "-c", "-f", str(bad)]).returncode != 0
    from countynet.lab.configs import lab_nft

    for host, text in files_named(rendered, "etc/nftables.conf"):
        # the rendering, and the lab's stateless-router variant of it (`established` by TCP flags)
        for kind, body in (("", text), ("-lab", lab_nft(text, stateless_forward=True))):
            path = tmp_path / f"{host}{kind}.nft"
            path.write_text(body)
            res = run(["ip", "netns", "exec", netns, nft, "-c", "-f", str(path)])
            assert res.returncode == 0, f"{host}{kind}: nft -c failed:\n{res.stderr}"


CHARON_RUN = """set -e
mount -t tmpfs none /run
ip link set lo up
/usr/lib/ipsec/charon >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
set +e
swanctl --load-all --noprompt --file "$1"
rc=$?
kill $pid
wait $pid 2>/dev/null
exit $rc
"""


@pytest.mark.root
def test_swanctl_loads_into_charon(rendered, tmp_path):
    """Load each swanctl.conf into a private charon (own mount and network namespace, own vici socket)."""
    need_root()
    need("/usr/lib/ipsec/charon", "strongswan-charon")
    need("swanctl", "strongswan-swanctl")
    need("unshare", "util-linux")
    sock = tmp_path / "charon.vici"
    conf = tmp_path / "strongswan.conf"
    conf.write_text(f"charon {{\n  load_modular = yes\n  install_routes = no\n  plugins {{\n"
                    f"    include /etc/strongswan.d/charon/*.conf\n    vici {{\n      socket = unix://{sock}\n"
                    f"    }}\n  }}\n}}\nswanctl {{\n  socket = unix://{sock}\n}}\n")
    script = tmp_path / "run.sh"
    script.write_text(CHARON_RUN)
    env = dict(os.environ, STRONGSWAN_CONF=str(conf), SOCK=str(sock))
    for host, text in files_named(rendered, "etc/swanctl/swanctl.conf"):
        path = tmp_path / f"{host}.swanctl.conf"
        path.write_text(text)
        sock.unlink(missing_ok=True)
        res = run(["unshare", "-m", "-n", "--propagation", "private", "sh", str(script), str(path)], env=env)
        out = res.stdout + res.stderr
        n = len(parse_swanctl(text)["connections"])
        assert res.returncode == 0 and f"successfully loaded {n} connections, 0 unloaded" in out, f"{host}:\n{out}"
        assert not re.search(r"(?m)^(loading .* failed|.*invalid|syntax error)", out), f"{host}:\n{out}"
        assert out.count("loaded ike secret") == n, f"{host}:\n{out}"


def test_dnsmasq_chrony_rsyslog_sshd_accept_their_files(rendered, tmp_path):
    checked = []
    if shutil.which("dnsmasq"):
        for host, text in files_named(rendered, "etc/dnsmasq.d/countynet-dhcp.conf"):
            (tmp_path / "dhcp.conf").write_text(text)
            res = run(["dnsmasq", "--test", f"--conf-file={tmp_path / 'dhcp.conf'}"])
            assert res.returncode == 0, f"{host}: {res.stderr}"
        checked.append("dnsmasq")
    if shutil.which("chronyd"):
        for host, text in files_named(rendered, "etc/chrony/chrony.conf"):
            (tmp_path / "chrony.conf").write_text(text)
            res = run(["chronyd", "-p", "-f", str(tmp_path / "chrony.conf")])
            assert res.returncode == 0, f"{host}: {res.stderr}"
        checked.append("chronyd")
    if shutil.which("rsyslogd"):
        for host, text in files_named(rendered, "etc/rsyslog.d/60-countynet.conf"):
            (tmp_path / "drop-in.conf").write_text(text)
            (tmp_path / "rsyslog.conf").write_text(
                f'include(file="{tmp_path / "drop-in.conf"}")\n*.* action(type="omfile" file="{tmp_path / "log"}")\n')
            res = run(["rsyslogd", "-N1", "-f", str(tmp_path / "rsyslog.conf")])
            assert res.returncode == 0, f"{host}: {res.stdout}{res.stderr}"
        checked.append("rsyslogd")
    if shutil.which("sshd") and shutil.which("ssh-keygen") and os.geteuid() == 0:
        key = tmp_path / "hostkey"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd -t insists on its privilege-separation directory
        for host, text in files_named(rendered, "etc/ssh/sshd_config.d/60-countynet.conf"):
            (tmp_path / "drop-in").write_text(text)
            (tmp_path / "sshd_config").write_text(
                f"Include {tmp_path / 'drop-in'}\nHostKey {key}\nPidFile {tmp_path / 'sshd.pid'}\n")
            res = run([shutil.which("sshd") or "sshd", "-t", "-f", str(tmp_path / "sshd_config")])
            assert res.returncode == 0, f"{host}: {res.stderr}"
        checked.append("sshd")
    if not checked:
        pytest.skip("none of dnsmasq, chronyd, rsyslogd, sshd is installed (apt-get install -y dnsmasq-base "
                    "chrony rsyslog openssh-server)")
    print("validated with:", ", ".join(checked))


def test_secrets_only_as_placeholders(rendered):
    for host, files in rendered.items():
        for name, text in files.items():
            for line in text.splitlines():
                if re.match(r"\s*secret\s*=", line):
                    assert re.fullmatch(rf'\s*secret = "{SECRET_PATTERN}"', line), (host, name, line)


def test_deterministic(bundled):
    from countynet.outputs.pipeline import compile_topology

    again = compile_topology(Path(__file__).resolve().parent.parent / "topology")
    for h, d in bundled.intents.items():
        if d.platform == PLATFORM:
            assert render_device(d) == render_device(again.intents[h])
