"""Huawei VRP rendering: golden configs, ACL rendering from compiled filters, VRP5/VRP8 differences,
secrets as placeholders only, determinism, and a syntax lint of every line of every rendered device."""

from __future__ import annotations

import re

import pytest

from countynet.intent.models import AclRule, DeviceIntent, Filter
from countynet.render.engine import SECRET_PATTERN, render_device
from tests.update_golden import GOLDEN
from tests.vendor_render import block, check_golden, config, lint_lines

PLATFORM = "huawei_vrp"

IP = r"\d{1,3}(?:\.\d{1,3}){3}"
SECRET = SECRET_PATTERN
IFNAME = r"(?:LoopBack|Vlanif|Eth-Trunk|Tunnel|NULL|GigabitEthernet|XGigabitEthernet|10GE|100GE)[\d/]+"
ADDR = rf"(?:any|{IP} {IP}|{IP} 0)"
PORTS = r"(?: {kind}-port (?:eq \d+|range \d+ \d+))?"
ICMP = r"(?:echo|echo-reply|\d+(?: \d+)?)"  # icmp-type: a message name or type [code]
VLANS = r"\d+(?: to \d+)?(?: \d+(?: to \d+)?){0,9}"
NAME = r"[A-Za-z0-9][\w.-]*"
HASH = r"(?:sha1|sha2-256|sha2-384|sha2-512)"
ENC = r"aes-(?:128|192|256)"

# Every line of a rendered VRP configuration must match one of these (anchored) patterns.
COMMON = [
    r"#", r"return", rf"sysname {NAME}", r"clock timezone (?:BJ|UTC) (?:add|minus) \d\d:\d\d:\d\d",
    r'header login information "[^"]+"', r"dhcp enable",
    rf"vlan batch {VLANS}", r"vlan \d+", rf" name {NAME}",
    r"acl number \d+", r" description \S.*", rf" rule \d+ permit source {IP} {IP}", r" rule \d+ deny",
    r" rule \d+ description [A-Za-z0-9 -]+",  # the policy rule of an ACL line (docs/policy.md)
    rf" rule \d+ (?:permit|deny) (?:ip|tcp|udp|icmp) source {ADDR}{PORTS.format(kind='source')} "
    rf"destination {ADDR}{PORTS.format(kind='destination')}(?: tcp-flag established| icmp-type {ICMP})?",
    rf"ip ip-prefix {NAME} index \d+ (?:permit|deny) {IP} \d+(?: greater-equal \d+)?(?: less-equal \d+)?",
    rf"route-policy {NAME} (?:permit|deny) node \d+", rf" if-match ip-prefix {NAME}",
    rf" if-match ip next-hop ip-prefix {NAME}", rf" filter-policy route-policy {NAME} import",
    rf"  filter ip-prefix {NAME} export",
    rf"ip pool {NAME}", rf" gateway-list {IP}", rf" network {IP} mask {IP}", rf" excluded-ip-address {IP} {IP}",
    r" lease day \d+ hour 0 minute 0", rf" dns-list {IP}(?: {IP})*",
    r"ike proposal \d+", rf" encryption-algorithm {ENC}", r" dh group(?:5|14|15|16|19|20)",
    rf" authentication-algorithm {HASH}", rf" integrity-algorithm hmac-{HASH}", rf" prf hmac-{HASH}",
    r"ipsec proposal [\w.-]{1,15}", r" transform esp", r" encapsulation-mode tunnel",
    rf" esp authentication-algorithm {HASH}", rf" esp encryption-algorithm {ENC}",
    r"ike peer [\w.-]{1,15}", r" undo version [12]", rf" pre-shared-key cipher {SECRET}", r" ike-proposal \d+",
    r" local-id-type fqdn", rf" local-id {NAME}", r" remote-id-type fqdn", rf" remote-id {NAME}",
    rf" remote-address {IP}", r" dpd type periodic",
    r"ipsec profile [\w.-]{1,15}", rf" ike-peer {NAME}", rf" proposal {NAME}", r" pfs dh-group\d+",
    rf"interface {IFNAME}", r" port link-type (?:access|trunk)", r" port default vlan \d+",
    rf" port trunk allow-pass vlan {VLANS}", r" undo port trunk allow-pass vlan 1", r" eth-trunk \d+",
    rf" ip address {IP} {IP}",
    r" tunnel-protocol ipsec", rf" source {IFNAME}", rf" destination {IP}", rf" ipsec profile {NAME}",
    r" ospf network-type p2p", r" ospf cost \d+", r" ospf timer (?:hello|dead) \d+",
    rf" ospf authentication-mode (?:hmac-sha256|md5) \d+ cipher {SECRET}",
    rf" peer {IP} password cipher {SECRET}", rf" peer {IP} valid-ttl-hops \d+", rf"  peer {IP} route-limit \d+ \d+",
    rf" vrrp vrid \d+ virtual-ip {IP}", r" vrrp vrid \d+ priority \d+",
    r" dhcp select (?:global|relay)", rf" dhcp relay server-ip {IP}", r" nat outbound \d+",
    rf" nat server protocol (?:tcp|udp) global {IP} \d+ inside {IP} \d+", r" undo shutdown",
    rf"ip route-static {IP} {IP} (?:{IP}|{IFNAME})(?: preference \d+)?(?: description \S.{{0,34}})?",
    rf"ospf \d+ router-id {IP}", r" default-route-advertise( cost \d+)?", rf" silent-interface {IFNAME}",
    rf" import-route (?:static|direct|bgp) route-policy {NAME}", rf" area {IP}", r"  stub(?: no-summary)?",
    r"  nssa", rf"  abr-summary {IP} {IP}", rf"  network {IP} {IP}",
    r"bgp \d+", rf" router-id {IP}", rf" peer {IP} as-number \d+", rf" peer {IP} description \S.*",
    rf" peer {IP} connect-interface {IFNAME}", r" #", r" ipv4-family unicast", rf"  network {IP} {IP}",
    rf"  peer {IP} enable", rf"  peer {IP} ip-prefix {NAME} (?:import|export)",
    r"aaa",
    rf" local-user {NAME} password irreversible-cipher {SECRET}", rf" local-user {NAME} service-type ssh",
    r"stelnet server enable", r"ssh server-source all-interface", r"ssh server acl 2000",
    r"ssh server cipher aes256_ctr aes128_ctr", r"ssh server hmac sha2_256",
    rf"ssh user {NAME} authentication-type password", rf"ssh user {NAME} service-type stelnet",
    r"user-interface vty 0 4", r" authentication-mode aaa", r" protocol inbound ssh", r" acl 2000 inbound",
    r" idle-timeout \d+ 0", r"user-interface (?:con|console) 0",
    r"hwtacacs-server template yx-aaa",
    rf" hwtacacs-server (?:authentication|authorization|accounting) {IP}(?: secondary)?",
    rf" hwtacacs-server source-ip {IP}", rf" hwtacacs-server shared-key cipher {SECRET}",
    r" (?:authentication|authorization|accounting)-scheme yx-admin", r"  authentication-mode hwtacacs local",
    r"  authorization-mode hwtacacs local", r"  accounting-mode hwtacacs", r" domain default_admin",
    r"  (?:authentication|authorization|accounting)-scheme yx-admin", r"  hwtacacs-server yx-aaa",
    r"info-center enable", rf"info-center loghost source {IFNAME}", rf"info-center loghost {IP} facility local7",
    r"snmp-agent", r"snmp-agent sys-info version v3",
    r"snmp-agent mib-view included iso-view iso",
    r"snmp-agent group v3 nms-group privacy read-view iso-view notify-view iso-view acl 2000",
    rf"snmp-agent usm-user v3 {NAME} group nms-group",
    rf"snmp-agent usm-user v3 {NAME} authentication-mode sha2-256 cipher {SECRET}",
    rf"snmp-agent usm-user v3 {NAME} privacy-mode aes256 cipher {SECRET}", rf"snmp-agent trap source {IFNAME}",
    rf"snmp-agent target-host trap address udp-domain {IP} params securityname {NAME} v3 privacy",
    # MSTP (switches)
    r"stp mode mstp", r"stp instance 0 root (?:primary|secondary)", r"stp bpdu-protection",
    r"stp region-configuration", rf" region-name {NAME}", r"stp enable", r" stp edged-port enable",
    r" undo stp enable",
]
# The forms VRP5 and generic VRP8 share and the CE (V300R) / NE (V800R) flavours override (platform registry).
VRP_LEGACY = [
    r"undo telnet server enable", r" local-aaa-user wrong-password retry-interval \d+ retry-time \d+ block-time \d+",
    rf"ntp-service unicast-server {IP}", rf"ntp-service source-interface {IFNAME}",
    r"undo snmp-agent sys-info version v1 v2c",
]
VRP8 = [r" mode lacp-static", r" portswitch", r" undo portswitch"]
MQC = [rf"traffic classifier {NAME} type or", r" if-match acl \d+", rf"traffic behavior {NAME}", r" permit",
       rf"traffic policy {NAME}", rf" classifier {NAME} behavior {NAME}",
       rf" traffic-policy {NAME} (?:inbound|outbound)"]
BY_FLAVOUR = {
    "huawei_vrp5": [*VRP_LEGACY, r" active region-configuration", r" mode lacp",
                    r" traffic-filter (?:inbound|outbound) acl \d+", r" undo portswitch",
                    rf" local-user {NAME} privilege level \d+", r"ipsec authentication sha2 compatible enable",
                    # access layer (docs/security.md "Access layer"): S switches
                    r"dhcp snooping enable", r" dhcp snooping enable", r" dhcp snooping trusted",
                    r" port-security enable", r" port-security max-mac-num \d+", r" description unused", r" shutdown"],
    "huawei_vrp8": [*VRP_LEGACY, *VRP8, r" traffic-filter acl \d+ (?:inbound|outbound)",
                    rf" local-user {NAME} level \d+"],
    "huawei_vrp8_ce": [*VRP8, *MQC, r"telnet server disable", rf"ntp unicast-server {IP}",
                       rf"ntp source-interface {IFNAME}", r"snmp-agent sys-info version (?:v1|v2c) disable",
                       rf" local-user {NAME} privilege level [0-3]", r" local-aaa-user wrong-password retry-interval "
                       r"\d+ retry-time \d+ block-time \d+"],
    "huawei_vrp8_ne": [*[p for p in VRP_LEGACY if "local-aaa-user" not in p], *VRP8,
                       *MQC[1:], rf"traffic classifier {NAME} operator or", rf" local-user {NAME} level \d+",
                       r"command-privilege level rearrange", r" user-block failed-times \d+ period \d+",
                       r" user-block reactive \d+"],
}


def lint(text: str, flavour: str) -> list[str]:
    """Lines matching none of the allowed command patterns of this VRP flavour."""
    return lint_lines(text, [re.compile(p) for p in COMMON + BY_FLAVOUR[flavour]])


@pytest.fixture(scope="module")
def devices(bundled) -> dict[str, DeviceIntent]:
    return {h: d for h, d in bundled.intents.items() if d.platform == PLATFORM}


@pytest.mark.parametrize("host", GOLDEN[PLATFORM])
def test_golden(bundled, host: str) -> None:
    check_golden(bundled, PLATFORM, host)


def test_every_device_renders_lint_clean(devices) -> None:
    assert {d.flavour for d in devices.values()} == {"huawei_vrp5", "huawei_vrp8_ce", "huawei_vrp8_ne"}
    problems = {}
    for host, d in devices.items():
        text = config(d)
        assert text.endswith("#\nreturn\n"), f"{host}: does not end with return"
        assert f"sysname {host}\n" in text
        bad = lint(text, d.flavour)
        if bad:
            problems[host] = bad[:5]
    assert not problems, problems


def test_lint_catches_typos(devices) -> None:
    d = devices["yx-aonan-sw1"]
    text = config(d)
    assert lint(text, d.flavour) == []
    for good, typo in ((" port default vlan", " port defualt vlan"), ("stelnet server enable", "stelnet enable"),
                       (" ospf timer hello", " ospf timer helo"), ("vlan batch", "vlan bacth")):
        assert good in text
        assert lint(text.replace(good, typo, 1), d.flavour), typo
    # a VRP8 keyword on a VRP5 device is a lint error too
    assert lint(text.replace(" mode lacp", " mode lacp-static") + " traffic-filter acl 3001 inbound\n", "huawei_vrp5")
    # a VRP5 form on a CloudEngine is one too
    core = config(devices["yx-core-1"])
    assert lint(core, "huawei_vrp8_ce") == []
    assert lint(core.replace("telnet server disable", "undo telnet server enable"), "huawei_vrp8_ce")


def test_deterministic(bundled, devices) -> None:
    from countynet.outputs.pipeline import compile_topology
    from tests.conftest import TOPOLOGY

    again = compile_topology(TOPOLOGY).intents
    for host in GOLDEN[PLATFORM]:
        assert config(devices[host]) == config(again[host])


def test_secrets_are_placeholders_only(devices) -> None:
    text = config(devices["yx-aonan-gongyi"])
    found = set(re.findall(SECRET_PATTERN, text))
    # local users: per-device secret references (a stolen router's credentials open no other device)
    assert {"aaa-netadmin.yx-aonan-gongyi", "aaa-netops.yx-aonan-gongyi", "aaa-auditor.yx-aonan-gongyi",
            "snmp-nms-auth", "snmp-nms-priv", "vpn-psk-aonan-gongyi"} <= found
    for line in text.splitlines():
        if re.search(r"password (irreversible-cipher|simple|cipher)|pre-shared-key|authentication-mode sha"
                     r"|privacy-mode", line):
            assert re.search(SECRET_PATTERN, line), line


def test_management_hardening(devices) -> None:
    d = devices["yx-core-1"]
    text = config(d)
    m = d.management
    assert block(text, "user-interface vty 0 4") == [
        "user-interface vty 0 4", " authentication-mode aaa", " protocol inbound ssh", " acl 2000 inbound",
        f" idle-timeout {m.idle_timeout_minutes} 0"]
    acl = block(text, "acl number 2000")
    # only the jump host and the NMS, one host each (docs/security.md)
    assert m.allowed_sources and all(p.endswith("/32") for p in m.allowed_sources)
    assert [f" rule {5 * (n + 1)} permit source {p.split('/')[0]} 0.0.0.0"
            for n, p in enumerate(m.allowed_sources)] == acl[2:-1]
    assert acl[-1] == " rule 1000 deny"
    # CloudEngine (V300R): its own NTP/telnet/SNMP forms, user levels 0-3 (admin 3, operator 2, auditor 1)
    assert (f" local-aaa-user wrong-password retry-interval {m.lockout_minutes} retry-time {m.login_attempts} "
            f"block-time {m.lockout_minutes}") in text
    assert {u.role: u.privilege for u in m.users} == {"admin": 3, "operator": 2, "auditor": 1}
    for u in m.users:
        assert f" local-user {u.name} privilege level {u.privilege}\n" in text
    lines = text.splitlines()
    assert "telnet server disable" in lines
    assert {"snmp-agent sys-info version v1 disable", "snmp-agent sys-info version v2c disable"} <= set(lines)
    for s in m.ntp_servers:
        assert f"ntp unicast-server {s}" in lines
    assert f"ntp source-interface {m.source_interface}" in lines
    assert "ntp-service" not in text and "traffic-filter" not in text
    # NE40E (V800R): lockout by user-block, levels up to 15 after `command-privilege level rearrange`
    ne = config(devices["yx-wan-1"])
    ne_lines = ne.splitlines()
    assert block(ne, "aaa")[1:3] == [f" user-block failed-times {m.login_attempts} period {m.lockout_minutes}",
                                     f" user-block reactive {m.lockout_minutes}"]
    assert ne_lines.index("command-privilege level rearrange") < ne_lines.index("aaa")
    assert " local-user netadmin level 15" in ne_lines
    assert "local-aaa-user" not in ne
    vrp5 = config(devices["yx-aonan-rt1"])
    m5 = devices["yx-aonan-rt1"].management
    for u in m5.users:
        assert f" local-user {u.name} privilege level {u.privilege}\n" in vrp5
    for t in (ne, vrp5):
        assert "undo telnet server enable" in t.splitlines()
        assert "v1" not in t.replace("undo snmp-agent sys-info version v1 v2c", "")
        for s in m.syslog_servers:
            assert f"info-center loghost {s} facility local7\n" in t
        for s in m.ntp_servers:
            assert f"ntp-service unicast-server {s}\n" in t
        assert f"ntp-service source-interface {m.source_interface}\n" in t


def test_vpn_spoke(devices) -> None:
    d = devices["yx-aonan-gongyi"]
    text = config(d)
    peer = d.vpn.peers[0]
    assert block(text, f"ike peer {peer.name}") == [
        f"ike peer {peer.name}", " undo version 1", f" pre-shared-key cipher ${{secret:{peer.psk_secret}}}",
        " ike-proposal 10", " local-id-type fqdn", f" local-id {peer.local_id}", " remote-id-type fqdn",
        f" remote-id {peer.remote_id}", f" remote-address {peer.remote_address}", " dpd type periodic"]
    assert block(text, "ike proposal 10")[1:] == [
        " encryption-algorithm aes-256", " dh group14", " authentication-algorithm sha2-256",
        " integrity-algorithm hmac-sha2-256", " prf hmac-sha2-256"]
    tun = d.interface(peer.tunnel_interface)
    assert block(text, f"interface {tun.name}")[2:] == [
        f" ip address {tun.address.split('/')[0]} 255.255.255.252", " tunnel-protocol ipsec",
        f" source {tun.tunnel.source}", f" destination {tun.tunnel.destination}",
        f" ipsec profile {peer.name}", " undo shutdown"]
    # AR: RFC 4868 HMAC-SHA-256 truncation, else ESP with sha2-256 fails against the strongSwan hub
    assert "ipsec authentication sha2 compatible enable" in text.splitlines()
    # the profile is defined before the tunnel that uses it
    assert text.index(f"ipsec profile {peer.name}\n") < text.index(f"interface {tun.name}\n")


def test_dhcp_pool_serves_exactly_the_range(devices) -> None:
    d = devices["yx-aonan-gongyi"]
    p = d.dhcp[0]
    pool = block(config(d), f"ip pool {p.name}")
    net = p.network.rsplit(".", 1)[0]
    first, start, end = int(p.network.split("/")[0].rsplit(".", 1)[1]) + 1, *(
        int(x.rsplit(".", 1)[1]) for x in (p.range_start, p.range_end))
    assert f" excluded-ip-address {net}.{first} {net}.{start - 1}" in pool
    assert f" gateway-list {p.gateway}" in pool
    last = first + 2 ** (32 - int(p.network.split("/")[1])) - 3
    if end < last:
        assert f" excluded-ip-address {net}.{end + 1} {net}.{last}" in pool
    else:
        assert sum(line.startswith(" excluded-ip-address") for line in pool) == 1


def with_filters(d: DeviceIntent, iface: str, number: int = 3901) -> DeviceIntent:
    """The device with one more compiled filter, bound inbound on one interface (as the policy compiler
    does; the filters the policy already gives the device stay)."""
    flt = Filter(name="village-lan-in", number=number, rules=[
        AclRule(seq=5, action="permit", protocol="tcp", source="10.30.18.0/24", destination="10.30.0.4/32",
                port_min=22, port_max=22, remark="management ssh"),
        AclRule(seq=10, action="permit", protocol="udp", source="0.0.0.0/0", destination="10.30.16.10/32",
                port_min=53, port_max=53),
        AclRule(seq=15, action="permit", protocol="tcp", source="10.30.16.0/24", destination="0.0.0.0/0",
                established=True),
        AclRule(seq=20, action="permit", protocol="tcp", source="10.30.129.64/28", destination="10.30.17.0/24",
                port_min=8000, port_max=8080),
        AclRule(seq=25, action="permit", protocol="icmp", source="0.0.0.0/0", destination="0.0.0.0/0"),
        AclRule(seq=30, action="permit", protocol="udp", source="10.30.16.10/32", destination="0.0.0.0/0",
                source_port_min=53, source_port_max=53, port_min=1024, port_max=65535),
        AclRule(seq=1000, action="deny", protocol="ip", source="0.0.0.0/0", destination="0.0.0.0/0"),
    ])
    ifs = [i.model_copy(update={"acl_in": flt.name}) if i.name == iface else i for i in d.interfaces]
    return d.model_copy(update={"filters": [*d.filters, flt], "interfaces": ifs})


@pytest.mark.parametrize(("host", "iface", "binding"), [
    ("yx-aonan-gongyi", "Vlanif10", " traffic-filter inbound acl 3901"),   # VRP5 syntax
    ("yx-core-1", "Vlanif10", " traffic-policy village-lan-in inbound"),  # CE: MQC, no traffic-filter
])
def test_filters_render_as_advanced_acl(devices, host: str, iface: str, binding: str) -> None:
    d = with_filters(devices[host], iface)
    text = config(d)
    assert block(text, "acl number 3901") == [
        "acl number 3901", " description village-lan-in",
        " rule 5 permit tcp source 10.30.18.0 0.0.0.255 destination 10.30.0.4 0 destination-port eq 22",
        " rule 5 description management ssh",  # the line's remark, after it (lines without one get none)
        " rule 10 permit udp source any destination 10.30.16.10 0 destination-port eq 53",
        " rule 15 permit tcp source 10.30.16.0 0.0.0.255 destination any tcp-flag established",
        " rule 20 permit tcp source 10.30.129.64 0.0.0.15 destination 10.30.17.0 0.0.0.255 "
        "destination-port range 8000 8080",
        " rule 25 permit icmp source any destination any",
        " rule 30 permit udp source 10.30.16.10 0 source-port eq 53 destination any destination-port range 1024 65535",
        " rule 1000 deny ip source any destination any"]
    assert binding in block(text, f"interface {iface}")
    assert text.index("acl number 3901\n") < text.index(f"interface {iface}\n")
    assert lint(text, d.flavour) == []
    if d.flavour == "huawei_vrp8_ce":
        assert block(text, "traffic classifier village-lan-in type or") == [
            "traffic classifier village-lan-in type or", " if-match acl 3901"]
        assert block(text, "traffic behavior village-lan-in") == ["traffic behavior village-lan-in", " permit"]
        assert block(text, "traffic policy village-lan-in") == [
            "traffic policy village-lan-in", " classifier village-lan-in behavior village-lan-in"]
        assert text.index("traffic policy village-lan-in\n") < text.index(f"interface {iface}\n")
        assert len(re.findall(r"traffic-policy village-lan-in ", text)) == 1
    else:
        assert len(re.findall(r"traffic-filter .*\b3901\b", text)) == 1
    for i in d.interfaces:  # the policy's own bindings are kept (inbound on ours is replaced)
        for acl, word in ((i.acl_in, "inbound"), (i.acl_out, "outbound")):
            if acl and not (i.name == iface and word == "inbound"):
                number = next(f.number for f in d.filters if f.name == acl)
                assert any((str(number) in x or acl in x) and word in x
                           for x in block(text, f"interface {i.name}")), i.name


def with_extra_routing(d: DeviceIntent) -> DeviceIntent:
    """Routing the bundled build does not use on VRP today: BGP, filtered redistribution, stub/NSSA
    areas, null and preference routes."""
    from countynet.intent.models import Bgp, BgpNeighbor, OspfArea, StaticRoute

    ospf = d.routing.ospf.model_copy(update={
        "redistribute": ["static", "bgp"], "redistribute_prefixes": ["10.40.0.0/16", "10.41.1.0/24"],
        "areas": [*d.routing.ospf.areas, OspfArea(id="0.0.0.50", type="stub"), OspfArea(id="0.0.0.51", type="nssa")]})
    bgp = Bgp(asn=65030, router_id="10.30.0.35", networks=["10.30.0.0/16"], neighbors=[
        BgpNeighbor(address="172.16.0.1", remote_as=65100, description="city network", update_source="LoopBack0",
                    import_prefixes=["10.40.0.0/16"], export_prefixes=["10.30.0.0/16"])])
    static = [*d.routing.static, StaticRoute(prefix="10.30.0.0/16", interface="null", description="aggregate"),
              StaticRoute(prefix="10.42.0.0/16", next_hop="10.30.5.10", distance=200)]
    return d.model_copy(update={"routing": d.routing.model_copy(update={"ospf": ospf, "bgp": bgp,
                                                                         "static": static})})


def test_bgp_redistribution_and_special_routes(devices) -> None:
    from countynet.render.roundtrip import check_device

    d = with_extra_routing(devices["yx-core-1"])
    text = config(d)
    assert lint(text, d.flavour) == []
    assert "ip ip-prefix OSPF-REDIST index 10 permit 10.40.0.0 16" in text
    assert block(text, "route-policy OSPF-REDIST permit node 10") == [
        "route-policy OSPF-REDIST permit node 10", " if-match ip-prefix OSPF-REDIST"]
    ospf = block(text, "ospf 1 router-id 10.30.0.35")
    assert " import-route static route-policy OSPF-REDIST" in ospf
    assert " import-route bgp route-policy OSPF-REDIST" in ospf
    assert ospf[ospf.index(" area 0.0.0.50") + 1] == "  stub"
    assert ospf[ospf.index(" area 0.0.0.51") + 1] == "  nssa"
    assert "ip route-static 10.30.0.0 255.255.0.0 NULL0 description aggregate" in text
    assert "ip route-static 10.42.0.0 255.255.0.0 10.30.5.10 preference 200" in text
    bgp = block(text, "bgp 65030")
    for line in (" peer 172.16.0.1 as-number 65100", " peer 172.16.0.1 connect-interface LoopBack0",
                 "  network 10.30.0.0 255.255.0.0", "  peer 172.16.0.1 ip-prefix BGP-172-16-0-1-IN import",
                 "  peer 172.16.0.1 ip-prefix BGP-172-16-0-1-OUT export"):
        assert line in bgp, line
    assert ("ip ip-prefix BGP-172-16-0-1-IN index 10 permit 10.40.0.0 16 greater-equal 16 less-equal 32"
            in text)
    assert text.index("ip ip-prefix BGP-172-16-0-1-IN") < text.index("bgp 65030")
    assert check_device(d, render_device(d)) == []
