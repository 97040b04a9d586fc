"""H3C Comware 7 rendering: golden configs, ACL rendering from compiled filters, firewall zones and
NAT, IKEv2 route-based VPN, secrets as placeholders only, and a syntax lint of every rendered line."""

from __future__ import annotations

import ipaddress
import re

import pytest

from countynet.intent.models import AclRule, DeviceIntent, Filter
from countynet.render.engine import SECRET_PATTERN, render_device
from tests.update_golden import GOLDEN
from tests.vendor_render import block, check_golden, config, lint_lines

PLATFORM = "h3c_comware"

IP = r"\d{1,3}(?:\.\d{1,3}){3}"
SECRET = SECRET_PATTERN
IFNAME = (r"(?:LoopBack|Vlan-interface|Bridge-Aggregation|Tunnel|NULL|GigabitEthernet|Ten-GigabitEthernet)"
          r"[\d/]+")
ADDR = rf"(?:any|{IP} {IP}|{IP} 0)"
PORTS = r"(?: {kind}-port (?:eq \d+|range \d+ \d+))?"
ICMP = r"(?:echo|echo-reply|\d+(?: \d+)?)"  # icmp-type: a message name or type [code]
VLANS = r"\d+(?: to \d+)?(?: \d+(?: to \d+)?){0,9}"
NAME = r"[A-Za-z0-9][\w.-]*"
HASH = r"(?:sha1|sha256|sha384|sha512)"
ENC = r"aes-cbc-(?:128|192|256)"

ALLOWED = [
    r"#", r"return", rf" sysname {NAME}", r" clock timezone (?:BJ|UTC) (?:add|minus) \d\d:\d\d:\d\d",
    r" header login %[^%]+%", r" undo telnet server enable", r" undo ip http enable", r" undo ip https enable",
    r" password-control enable", r" password-control login-attempt \d+ exceed lock-time \d+", r" dhcp enable",
    r"vlan \d+", rf" name {NAME}",
    r"acl (?:basic|advanced) \d+", r" description \S.*", rf" rule \d+ permit source {IP} {IP}", r" rule \d+ deny",
    r" rule \d+ comment [A-Za-z0-9 -]+",  # the policy rule of an ACL line (docs/policy.md)
    rf" rule \d+ (?:permit|deny) (?:ip|tcp|udp|icmp) source {ADDR}{PORTS.format(kind='source')} "
    rf"destination {ADDR}{PORTS.format(kind='destination')}(?: established| icmp-type {ICMP})?",
    rf" ip prefix-list {NAME} index \d+ (?:permit|deny) {IP} \d+(?: greater-equal \d+)?(?: less-equal \d+)?",
    rf"route-policy {NAME} (?:permit|deny) node \d+", rf" if-match ip address prefix-list {NAME}",
    rf" if-match ip next-hop prefix-list {NAME}", rf" filter-policy route-policy {NAME} import",
    rf"  filter prefix-list {NAME} export",
    rf"dhcp server ip-pool {NAME}", rf" gateway-list {IP}", rf" network {IP} mask {IP}",
    rf" address range {IP} {IP}", rf" dns-list {IP}(?: {IP})*", r" expired day \d+",
    rf"ikev2 proposal {NAME}", rf" encryption {ENC}", rf" integrity {HASH}", rf" prf {HASH}",
    r" dh group(?:5|14|15|16|19|20)", rf"ikev2 policy {NAME}", rf" proposal {NAME}",
    r"ike proposal \d+", rf" encryption-algorithm {ENC}", rf" authentication-algorithm {HASH}",
    r" authentication-method pre-share",
    rf"ipsec transform-set {NAME}", r" protocol esp", r" encapsulation-mode tunnel",
    rf" esp encryption-algorithm {ENC}", rf" esp authentication-algorithm {HASH}", r" pfs dh-group\d+",
    rf"ikev2 keychain {NAME}", rf" peer {NAME}", rf"  address {IP} 32", rf"  identity fqdn {NAME}",
    rf"  pre-shared-key plaintext {SECRET}",
    rf"ikev2 profile {NAME}", r" authentication-method (?:local|remote) pre-share", rf" keychain {NAME}",
    rf" identity local fqdn {NAME}", rf" match remote identity fqdn {NAME}", r" dpd interval \d+ periodic",
    rf"ipsec profile {NAME} isakmp", rf" transform-set {NAME}", rf" ikev2-profile {NAME}", rf" ike-profile {NAME}",
    rf"ike keychain {NAME}", rf" pre-shared-key (?:address {IP} 32|hostname {NAME}) key simple {SECRET}",
    rf"ike profile {NAME}", rf" local-identity fqdn {NAME}", r" proposal \d+",
    rf"interface {IFNAME}(?: mode ipsec)?", r" link-aggregation mode dynamic", r" port link-type (?:access|trunk)",
    r" undo port trunk permit vlan 1", rf" port trunk permit vlan {VLANS}", r" port access vlan \d+",
    r" port link-aggregation group \d+", r" port link-mode route", rf" ip address {IP} {IP}",
    rf" source {IFNAME}", rf" destination {IP}", rf" tunnel protection ipsec profile {NAME}",
    r" ospf network-type p2p", r" ospf cost \d+", r" ospf timer (?:hello|dead) \d+",
    rf" ospf authentication-mode md5 \d+ plain {SECRET}",
    rf" peer {IP} password simple {SECRET}", rf" peer {IP} ttl-security hops \d+", rf"  peer {IP} route-limit \d+ \d+",
    rf" vrrp vrid \d+ virtual-ip {IP}", r" vrrp vrid \d+ priority \d+",
    r" dhcp select (?:server|relay)", rf" dhcp relay server-address {IP}", r" nat outbound \d+",
    rf" nat server protocol (?:tcp|udp) global {IP} \d+ inside {IP} \d+", r" nat inbound \d+ address-group \d+",
    r"nat address-group \d+", rf" address {IP} {IP}", r"nat log (?:enable|flow-begin|flow-end)",
    r" packet-filter \d+ (?:inbound|outbound)",
    r" undo shutdown",
    rf"security-zone name {NAME}", rf" import interface {IFNAME}", r"security-policy ip",
    rf" rule \d+ name {NAME}", r"  action pass", rf"  (?:source|destination)-zone {NAME}",
    rf"  source-ip-subnet {IP} {IP}", rf"  destination-ip-host {IP}",
    r"  service-port (?:tcp|udp) destination eq \d+",
    rf" ip route-static {IP} \d+ (?:{IP}|{IFNAME})(?: preference \d+)?(?: description \S.{{0,59}})?",
    rf"ospf \d+ router-id {IP}", r" default-route-advertise( cost \d+)?", rf" silent-interface {IFNAME}",
    rf" import-route (?:static|direct|bgp) route-policy {NAME}", rf" area {IP}", r"  stub(?: no-summary)?",
    r"  nssa", rf"  abr-summary {IP} {IP}", rf"  network {IP} {IP}",
    r"bgp \d+", rf" router-id {IP}", rf" peer {IP} as-number \d+", rf" peer {IP} description \S.*",
    rf" peer {IP} connect-interface {IFNAME}", r" #", r" address-family ipv4 unicast",
    rf"  peer {IP} enable", rf"  peer {IP} prefix-list {NAME} (?:import|export)",
    rf"local-user {NAME} class manage", rf" password simple {SECRET}", r" service-type ssh",
    r" authorization-attribute user-role (?:network-admin|network-operator|security-audit)",
    r"hwtacacs scheme yx-aaa", rf" (?:primary|secondary) (?:authentication|authorization|accounting) {IP}",
    rf" key (?:authentication|authorization|accounting) simple {SECRET}", r" user-name-format without-domain",
    rf" nas-ip {IP}", r"domain system",
    r" (?:authentication|authorization|accounting) login hwtacacs-scheme yx-aaa local",
    r" accounting command hwtacacs-scheme yx-aaa", r"line (?:con|aux) 0",
    r" ssh server enable", r" ssh server acl 2001",
    rf" ssh user {NAME} service-type stelnet authentication-type password",
    r"line vty 0 63", r" authentication-mode scheme", r" protocol inbound ssh",
    r" idle-timeout \d+ 0", r" ntp-service enable", rf" ntp-service unicast-server {IP} source {IFNAME}",
    r" info-center enable", rf" info-center loghost source {IFNAME}", rf" info-center loghost {IP} facility local7",
    r" snmp-agent", r" snmp-agent sys-info version v3", r" snmp-agent mib-view included iso-view iso",
    r" snmp-agent group v3 nms-group privacy read-view iso-view notify-view iso-view acl 2001",
    rf" snmp-agent usm-user v3 {NAME} nms-group simple authentication-mode sha256 {SECRET} "
    rf"privacy-mode aes256 {SECRET}",
    rf" snmp-agent trap source {IFNAME}",
    rf" snmp-agent target-host trap address udp-domain {IP} params securityname {NAME} v3 privacy",
    r" snmp-agent trap enable",
    # MSTP (switches)
    r" stp mode mstp", r" stp bpdu-protection", r"stp region-configuration", rf" region-name {NAME}",
    r" active region-configuration", r" stp global enable", r" stp edged-port", r" undo stp enable",
    # access layer (docs/security.md "Access layer"): S switches
    r" dhcp snooping enable", r" port-security enable", r" dhcp snooping trust", r" port-security max-mac-count \d+",
    r" port-security port-mode autolearn", r" ip verify source ip-address mac-address", r" description unused",
    r" shutdown",
]
PATTERNS = [re.compile(p) for p in ALLOWED]


def lint(text: str) -> list[str]:
    return lint_lines(text, PATTERNS)


@pytest.fixture(scope="module")
def devices(bundled) -> dict[str, DeviceIntent]:
    return {h: d for h, d in bundled.intents.items() if d.platform == PLATFORM}


@pytest.mark.parametrize("host", GOLDEN[PLATFORM])
def test_golden(bundled, host: str) -> None:
    check_golden(bundled, PLATFORM, host)


def test_every_device_renders_lint_clean(devices) -> None:
    assert {d.model for d in devices.values()} == {"f1000", "s5130", "msr3620", "msr810"}
    problems = {}
    for host, d in devices.items():
        text = config(d)
        assert text.endswith("#\nreturn\n"), f"{host}: does not end with return"
        assert f" sysname {host}\n" in text
        assert config(d) == text  # deterministic
        bad = lint(text)
        if bad:
            problems[host] = bad[:5]
    assert not problems, problems


def test_lint_catches_typos(devices) -> None:
    text = config(devices["yx-gaoxi-datang"])
    assert lint(text) == []
    for good, typo in ((" port access vlan", " port acess vlan"), (" ssh server enable", " ssh sever enable"),
                       (" ip route-static", "ip route-static"), ("line vty 0 63", "user-interface vty 0 4")):
        assert good in text
        assert lint(text.replace(good, typo, 1)), typo


def test_secrets_are_placeholders_only(devices) -> None:
    text = config(devices["yx-gaoxi-datang"])
    # local users: per-device secret references (a stolen router's credentials open no other device)
    assert {"aaa-netadmin.yx-gaoxi-datang", "aaa-netops.yx-gaoxi-datang", "aaa-auditor.yx-gaoxi-datang",
            "snmp-nms-auth", "snmp-nms-priv", "vpn-psk-gaoxi-datang"} <= set(re.findall(SECRET_PATTERN, text))
    for line in text.splitlines():
        if re.search(r"password (irreversible-cipher|simple|cipher)|pre-shared-key|authentication-mode sha", line):
            assert re.search(SECRET_PATTERN, line), line


def test_management_hardening(devices) -> None:
    d = devices["yx-gaoxi-rt1"]
    text = config(d)
    m = d.management
    assert block(text, "line vty 0 63") == [
        "line vty 0 63", " authentication-mode scheme", " protocol inbound ssh",
        f" idle-timeout {m.idle_timeout_minutes} 0"]  # no `acl N inbound`: Comware 7 has none in line view
    assert " ssh server acl 2001\n" in text  # SSH sources are restricted here instead
    for u in m.users:  # Comware 7 takes `simple` (the device stores a hash), never Huawei's irreversible-cipher
        assert block(text, f"local-user {u.name} class manage")[1] == f" password simple ${{secret:{u.secret}}}"
    assert "irreversible-cipher" not in text
    assert f" password-control login-attempt {m.login_attempts} exceed lock-time {m.lockout_minutes}" in text
    roles = {u.name: block(text, f"local-user {u.name} class manage")[-1] for u in m.users}
    # Comware's predefined roles (issue 11: `level-3` could do nothing): admin, read-only operator, security audit
    assert roles == {u.name: " authorization-attribute user-role " + {"admin": "network-admin", "operator":
                     "network-operator", "auditor": "security-audit"}[u.role] for u in m.users}
    for s in m.ntp_servers:
        assert f" ntp-service unicast-server {s} source {m.source_interface}\n" in text
    assert "v2c" not in text and "community" not in text


def test_firewall_zones_and_nat(devices) -> None:
    d = devices["yx-fw-1"]
    text = config(d)
    nat = d.nat
    out = block(text, f"interface {nat.outside_interface}")
    assert " nat outbound 2999" in out
    for s in nat.static:
        assert f" nat server protocol {s.protocol} global {s.outside} {s.port} inside {s.inside} {s.port}" in out
    acl = block(text, "acl basic 2999")
    assert len([line for line in acl if " permit source " in line]) == len(nat.inside_networks)
    assert block(text, "security-zone name Untrust") == ["security-zone name Untrust",
                                                         f" import interface {nat.outside_interface}"]
    inside = [i.name for i in d.interfaces if i.kind == "routed" and not i.zone]
    assert block(text, "security-zone name Trust")[1:] == [f" import interface {n}" for n in inside]
    policy = block(text, "security-policy ip")
    for s in nat.static:
        assert f"  destination-ip-host {s.inside}" in policy
    assert text.index("security-zone name Trust") > text.index(f"interface {nat.outside_interface}\n")


def test_second_firewall_inbound_source_nat(devices) -> None:
    """docs/design.md "Dual ISP": yx-fw-2 translates the source of its published connections to its IPAM pool
    (address group 1, defined before the interface that uses it; ACL 3999 selects exactly the published services)
    and announces the pool into OSPF from a null route; the primary exit yx-fw-1 has none of it."""
    d = devices["yx-fw-2"]
    text, nat = config(d), d.nat
    assert nat is not None and nat.inbound is not None
    inb = nat.inbound
    assert block(text, "nat address-group 1") == ["nat address-group 1", f" address {inb.first} {inb.last}"]
    out = block(text, f"interface {nat.outside_interface}")
    assert " nat inbound 3999 address-group 1" in out
    assert text.index("nat address-group 1\n") < text.index(f"interface {nat.outside_interface}\n")
    acl = block(text, "acl advanced 3999")[2:]
    assert len(acl) == 2 * len(nat.static)
    for s in nat.static:
        for addr in (s.outside, s.inside):
            assert any(f" permit {s.protocol} source any destination {addr} 0 destination-port eq {s.port}" in line
                       for line in acl), (s, addr)
    net = ipaddress.IPv4Network(inb.pool)
    assert f" ip route-static {net.network_address} {net.prefixlen} NULL0 " in text
    assert f" ip prefix-list OSPF-REDIST index 10 permit {net.network_address} {net.prefixlen}\n" in text
    ospf = block(text, f"ospf 1 router-id {d.routing.ospf.router_id}")
    assert " import-route static route-policy OSPF-REDIST" in ospf
    fw1 = config(devices["yx-fw-1"])
    assert devices["yx-fw-1"].nat.inbound is None and "nat inbound" not in fw1 and "address-group" not in fw1


def test_vpn_spoke_ikev2(devices) -> None:
    d = devices["yx-gaoxi-datang"]
    text = config(d)
    peer = d.vpn.peers[0]
    assert block(text, f"ikev2 keychain {peer.name}")[1:] == [
        f" peer {peer.name}", f"  address {peer.remote_address} 32", f"  identity fqdn {peer.remote_id}",
        f"  pre-shared-key plaintext ${{secret:{peer.psk_secret}}}"]
    prof = block(text, f"ikev2 profile {peer.name}")
    assert f" identity local fqdn {peer.local_id}" in prof and f" match remote identity fqdn {peer.remote_id}" in prof
    tun = d.interface(peer.tunnel_interface)
    assert block(text, f"interface {tun.name} mode ipsec")[-2] == f" tunnel protection ipsec profile {peer.name}"
    assert text.index(f"ipsec profile {peer.name} isakmp") < text.index(f"interface {tun.name} mode ipsec")


def test_ikev1_when_asked(devices) -> None:
    d = devices["yx-gaoxi-datang"]
    v1 = d.model_copy(update={"vpn": d.vpn.model_copy(update={"ike_version": 1})})
    text = config(v1)
    assert "ikev2" not in text
    peer = d.vpn.peers[0]
    assert (f" pre-shared-key address {peer.remote_address} 32 key simple ${{secret:{peer.psk_secret}}}"
            in block(text, f"ike keychain {peer.name}"))
    assert lint(text) == []


@pytest.mark.parametrize("host", ["yx-gaoxi-datang", "yx-fw-1"])
def test_filters_render_as_advanced_acl(devices, host: str) -> None:
    d = devices[host]
    iface = next(i.name for i in d.interfaces if i.kind in ("svi", "routed") and i.address)
    flt = Filter(name="lan-in", number=3902, rules=[
        AclRule(seq=5, action="permit", protocol="tcp", source="10.30.18.0/24", destination="10.30.0.66/32",
                port_min=22, port_max=22),
        AclRule(seq=10, action="permit", protocol="tcp", source="0.0.0.0/0", destination="10.30.16.0/24",
                established=True),
        AclRule(seq=15, action="permit", protocol="udp", source="10.30.149.64/28", destination="0.0.0.0/0",
                port_min=1024, port_max=65535),
        AclRule(seq=20, action="permit", protocol="tcp", source="10.30.16.12/32", destination="0.0.0.0/0",
                source_port_min=8000, source_port_max=8080),
        AclRule(seq=1000, action="deny", protocol="ip", source="0.0.0.0/0", destination="0.0.0.0/0"),
    ])
    ifs = [i.model_copy(update={"acl_in": flt.name, "acl_out": flt.name}) if i.name == iface else i
           for i in d.interfaces]
    text = config(d.model_copy(update={"filters": [*d.filters, flt], "interfaces": ifs}))
    assert block(text, "acl advanced 3902") == [
        "acl advanced 3902", " description lan-in",
        " rule 5 permit tcp source 10.30.18.0 0.0.0.255 destination 10.30.0.66 0 destination-port eq 22",
        " rule 10 permit tcp source any destination 10.30.16.0 0.0.0.255 established",
        " rule 15 permit udp source 10.30.149.64 0.0.0.15 destination any destination-port range 1024 65535",
        " rule 20 permit tcp source 10.30.16.12 0 source-port range 8000 8080 destination any",
        " rule 1000 deny ip source any destination any"]
    body = block(text, f"interface {iface}")
    assert " packet-filter 3902 inbound" in body and " packet-filter 3902 outbound" in body
    assert lint(text) == []


def test_bgp_redistribution_and_special_routes(devices) -> None:
    from countynet.intent.models import Bgp, BgpNeighbor, OspfArea, StaticRoute
    from countynet.render.roundtrip import check_device

    d = devices["yx-fw-1"]
    ospf = d.routing.ospf.model_copy(update={
        "redistribute": ["connected"], "redistribute_prefixes": ["203.0.113.0/29"],
        "areas": [*d.routing.ospf.areas, OspfArea(id="0.0.0.7", type="totally-stub", ranges=["10.50.0.0/22"])]})
    bgp = Bgp(asn=65030, router_id="10.30.0.37", neighbors=[
        BgpNeighbor(address="203.0.113.1", remote_as=4134, description="isp", export_prefixes=["10.30.0.0/16"])])
    static = [*d.routing.static, StaticRoute(prefix="10.30.0.0/16", interface="null", description="aggregate",
                                             distance=250)]
    d = d.model_copy(update={"routing": d.routing.model_copy(update={"ospf": ospf, "bgp": bgp, "static": static})})
    text = config(d)
    assert lint(text) == []
    assert " ip prefix-list OSPF-REDIST index 10 permit 203.0.113.0 29" in text
    assert " if-match ip address prefix-list OSPF-REDIST" in text
    ospf_block = block(text, "ospf 1 router-id 10.30.0.37")
    assert " import-route direct route-policy OSPF-REDIST" in ospf_block
    area7 = ospf_block[ospf_block.index(" area 0.0.0.7"):]
    assert area7 == [" area 0.0.0.7", "  abr-summary 10.50.0.0 255.255.252.0", "  stub no-summary"]
    assert " ip route-static 10.30.0.0 16 NULL0 preference 250 description aggregate" in text
    bgp_block = block(text, "bgp 65030")
    assert " peer 203.0.113.1 as-number 4134" in bgp_block
    assert "  peer 203.0.113.1 prefix-list BGP-203-0-113-1-OUT export" in bgp_block
    # no import prefixes: the import list denies everything rather than accepting all
    assert " ip prefix-list BGP-203-0-113-1-IN index 10 deny 0.0.0.0 0 less-equal 32" in text
    assert check_device(d, render_device(d)) == []
