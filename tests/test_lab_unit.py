"""Lab planning without root: linuxify, scope, wiring plan, config adjustments, state file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from countynet.lab import configs, plan, scope
from countynet.lab import lab as labmod
from countynet.lab.linuxify import L2_KINDS, linuxify_full
from countynet.lab.state import LabState, ProcRec, alive, proc_start
from countynet.lab.up import static_routes
from countynet.outputs.build_reader import BuildReader
from countynet.render.engine import render_device

ROOT = Path(__file__).resolve().parent.parent
SMALL = ("core,device:yx-db-1,device:yx-oa-1,device:yx-yange-rt1,device:yx-yange-sw1,device:yx-yange-yange,"
         "device:yx-yange-shanbei,unit:finance")


def test_linuxify_every_device(bundled):
    """Every device becomes a Linux box: short Linux names, no switch ports, loopback on lo, routes mapped."""
    for host, d in bundled.intents.items():
        lx = linuxify_full(d)
        assert lx.intent.platform == "linux"
        names = [i.name for i in lx.intent.interfaces]
        assert all(len(n) <= 15 for n in names), (host, names)
        assert len(names) == len(set(names)), (host, names)
        assert not [i for i in lx.intent.interfaces if i.kind in (*L2_KINDS, "svi", "tunnel")]
        for i in lx.intent.interfaces:
            if i.kind == "loopback":
                assert i.name == "lo"
        kept = set(names)
        for r in lx.intent.routing.static:
            assert r.interface in (None, "blackhole") or r.interface in kept, (host, r)
        if lx.intent.nat:
            assert lx.intent.nat.outside_interface in kept
        # the name map covers exactly the kept interfaces
        assert sorted(lx.names.values()) == sorted(names)


def test_linux_names_are_the_templates_names(bundled):
    """The lab's Linux names for loopbacks and LAN SVIs are the ones the linux templates render: the lab's
    rendering of a device (render_device, the build's templates) names exactly the interfaces it wires."""
    d = bundled.intents["yx-core-1"]
    lx = linuxify_full(d)
    assert lx.names[next(i.name for i in d.interfaces if i.kind == "loopback")] == "lo"
    svi = next(i for i in d.interfaces if i.kind == "svi" and not i.peer)
    assert lx.names[svi.name] == f"br{svi.vlan}"
    files = render_device(lx.intent)
    for name in lx.names.values():
        assert f"iface {name} inet" in files["etc/network/interfaces"], name


def test_scope_tokens(bundled_build):
    hosts = BuildReader(bundled_build).hosts  # the manifest's host table: no intent is read to pick a scope
    yange = scope.select(hosts, "township:yange")
    assert "yx-yange-rt1" in yange and "yx-yange-shanbei" in yange and all("yange" in h for h in yange)
    assert scope.select(hosts, "all") == set(hosts)
    assert "yx-db-1" not in scope.select(hosts, "core") and "yx-db-1" in scope.select(hosts, "centre")
    default = scope.select(hosts, None)
    assert {"yx-core-1", "yx-fw-1", "yx-vpnhub-1", "yx-city-1", "yx-u-finance"} <= default
    with pytest.raises(scope.ScopeError, match="nowhere"):
        scope.select(hosts, "township:nowhere")


def test_lab_selects_from_the_build(bundled_build, bundled):
    """The default scope and its intents come from the build: the same intents `countynet build` wrote,
    plus the centre servers the build's probe matrix targets."""
    b = BuildReader(bundled_build)
    intents, hosts = labmod.select(b, None)
    assert set(intents) == hosts and scope.select(b.hosts, None) < hosts
    assert scope.probe_servers(b.hosts, b.flows()) <= hosts
    assert all(intents[h] == bundled.intents[h] for h in hosts)
    assert len(b._intents) == len(hosts) < len(b.hosts)  # only the scope's intent files were read


def test_default_scope_has_leased_and_vpn_villages(bundled, bundled_build):
    hosts = BuildReader(bundled_build).hosts
    p = plan.build(bundled.intents, scope.select(hosts, None), kernel_esp=False)
    villages = [h for h in p.devices if bundled.intents[h].role == "village_cpe"]
    assert any(bundled.intents[h].vpn for h in villages), "no VPN village in the default scope"
    assert any(not bundled.intents[h].vpn for h in villages), "no leased-line village in the default scope"
    assert len({bundled.intents[h].township for h in villages}) >= 2
    kinds = {n.kind for n in p.namespaces.values()}
    assert {"device", "probe", "internet", "city"} <= kinds
    assert p.city and p.city.prefixes
    assert {pr.zone for pr in p.probes} >= {"internet", "city", "village-lan", "township-lan", "unit-lan"}


def test_plan_wiring_is_consistent(bundled):
    p = plan.build(bundled.intents, set(bundled.intents), kernel_esp=False)
    ifnames: dict[str, list[str]] = {}
    for v in p.veths:
        ifnames.setdefault(v.a_ns, []).append(v.a_if)
        ifnames.setdefault(v.b_ns, []).append(v.b_if)
    for pt in p.ports:
        ifnames.setdefault(pt.ns, []).append(pt.ifname)
        ifnames.setdefault(pt.bridge_ns, []).append(pt.port)
    for b in p.bridges:
        ifnames.setdefault(b.ns, []).append(b.name)
    for ns, names in ifnames.items():
        assert ns in p.namespaces, ns
        assert len(names) == len(set(names)), (ns, sorted(n for n in names if names.count(n) > 1))
        assert all(len(n) <= 15 for n in names)
    # every OSPF router expects at least one neighbour, and expectations are symmetric
    rid = {h: lx.intent.routing.ospf.router_id for h, lx in p.devices.items() if lx.intent.routing.ospf}
    for h, peers in p.ospf_expect.items():
        for r in peers:
            other = next(o for o, x in rid.items() if x == r)
            assert rid[h] in p.ospf_expect[other]
    assert all(p.ospf_expect.get(h) for h, d in p.devices.items()
               if d.intent.routing.ospf and d.intent.role not in ("server",))
    # management addresses are unique and inside 198.18.0.0/15
    mg = [n.mgmt for n in p.namespaces.values() if n.mgmt]
    assert len(mg) == len(set(mg)) == len(p.devices)
    assert all(m.startswith("198.18.") for m in mg)


def test_out_of_scope_links_dropped(bundled):
    p = plan.build(bundled.intents, {"yx-wan-1", "yx-yange-rt1"}, kernel_esp=False)
    names = p.devices["yx-wan-1"].names
    assert len([n for n in names.values() if n.startswith("e")]) == 1  # only the link to yange
    rid = {h: bundled.intents[h].routing.ospf.router_id for h in ("yx-wan-1", "yx-yange-rt1")}
    assert p.ospf_expect == {"yx-wan-1": {rid["yx-yange-rt1"]}, "yx-yange-rt1": {rid["yx-wan-1"]}}
    assert len(p.veths) == 1


def test_lab_frr_fast_timers():
    text = ("frr version 8.4\nhostname r\ninterface e0\n ip ospf hello-interval 10\n ip ospf dead-interval 40\n"
            "exit\ninterface lo\nexit\nrouter ospf\n ospf router-id 1.1.1.1\nexit\n")
    out = configs.lab_frr(text)
    assert "frr version" not in out
    assert "hello-interval 10" not in out and "dead-interval 40" not in out
    assert out.count(" ip ospf hello-interval 1\n") == 1  # e0 only, not lo
    assert " timers throttle spf 0 50 500" in out and " timers lsa min-arrival 0" in out


def test_libipsec_forces_udp_encapsulation():
    text = ("connections {\n  a {\n    remote_addrs = 1.2.3.4\n    encap = no\n  }\n"
            "  b {\n    remote_addrs = %any\n  }\n}\n")
    out = configs.libipsec_swanctl(text)
    assert out.count("encap = yes") == 2 and "encap = no" not in out


def test_static_routes_of_hosts_without_frr(bundled):
    """Servers route statically: their default route via the gateway on their subnet, as their rendered
    ifupdown stanza says (`gateway`)."""
    d = linuxify_full(bundled.intents["yx-db-1"]).intent
    cmds = static_routes(d)
    gw = next(r.next_hop for r in d.routing.static if r.prefix == "0.0.0.0/0")
    assert f"route replace default via {gw}" in cmds
    assert f"    gateway {gw}" in render_device(d)["etc/network/interfaces"]


def test_frr_daemons():
    assert configs.frr_daemons("zebra=no\nospfd=yes\nbgpd=no\nstaticd=yes\nvtysh_enable=yes\n") == \
        ["zebra", "ospfd", "staticd"]


def test_secrets_resolved_in_lab_only(tmp_path):
    s = configs.Secrets(tmp_path / "secrets.json")
    a = s.resolve('secret = "${secret:vpn-psk-x}"')
    b = s.resolve("${secret:vpn-psk-x}")
    assert "${secret" not in a and a.endswith(f'"{b}"')
    s.save()
    assert oct((tmp_path / "secrets.json").stat().st_mode & 0o777) == "0o600"


def test_state_file_roundtrip(tmp_path):
    st = LabState(str(tmp_path))
    st.add_namespaces(["cn-a", "cn-b"])
    st.add_proc(os.getpid(), "cn-a", "self")
    again = LabState.load(tmp_path)
    assert again and again.namespaces == ["cn-a", "cn-b"]
    assert alive(again.procs[0])
    assert not alive(ProcRec(again.procs[0].pid, "cn-a", "x", "1"))  # recycled pid: other start time
    assert proc_start(os.getpid())


@pytest.mark.root
def test_cli_without_root_exits_2(tmp_path):
    """Not root: a clear message and exit 2, no traceback."""
    if os.geteuid() != 0 or subprocess.run(["which", "setpriv"], capture_output=True).returncode:
        pytest.skip("needs root to drop to an unprivileged user with setpriv")
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                        "countynet.cli.lab", "up", "--build", str(tmp_path / "build"), "--lab-dir",
                        str(tmp_path / "x")],
                       capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HOME": "/tmp"})
    assert p.returncode == 2, p.stderr
    assert "root" in p.stderr and "Traceback" not in p.stderr


def test_lab_nft_adjustments():
    text = ("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
            "\t\tct state invalid drop\n\t}\n\tchain forward {\n"
            "\t\ttype filter hook forward priority filter; policy accept;\n\t\tct state invalid drop\n\t}\n}\n")
    router = configs.lab_nft(text, stateless_forward=True)
    assert router.count('iifname "mgmt0" accept') == 1
    assert router.index('iifname "mgmt0"') < router.index("ct state invalid drop")  # first in input
    assert router.count("ct state invalid drop") == 1  # kept in input, gone from forward
    firewall = configs.lab_nft(text, stateless_forward=False)
    assert firewall.count("ct state invalid drop") == 2
    acl = ("table inet filter {\n\tchain acl_CN-FROM-DMZ-1 {\n\t\tct state established,related ip saddr 10.0.0.1 "
           'ip daddr 10.9.0.0/29 tcp sport 443 return comment "seq 5"\n\t\tip daddr 10.0.0.0/24 udp sport 53 return\n'
           "\t}\n}\n")
    stateless = configs.lab_nft(acl, stateless_forward=True)  # a SYN-ACK on a path that never saw the SYN passes
    assert ('\t\tip saddr 10.0.0.1 ip daddr 10.9.0.0/29 tcp sport 443 tcp flags & (ack | rst) != 0 return comment '
            '"seq 5"\n') in stateless and "ct state" not in stateless and "udp sport 53 return\n" in stateless
    assert configs.lab_nft(acl, stateless_forward=False) == acl  # a firewall keeps its state


def test_vrrp_backup_gets_high_ospf_cost():
    text = "interface e0\n ip ospf cost 10\nexit\ninterface lo\nexit\nrouter ospf\nexit\n"
    out = configs.lab_frr(text, vrrp_backup=True)
    assert " ip ospf cost 10\n" not in out and out.count(f" ip ospf cost {configs.BACKUP_COST}") == 1
