"""Cisco IOS-XE rendering: golden configurations, every intent feature on a synthetic device, secrets as
placeholders only, determinism, and a syntax lint of every rendered line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from countynet.render.engine import SECRET_PATTERN, render_device
from tests.cisco_linux_samples import block, feature_intent, golden_diff
from tests.update_golden_cisco_linux import GOLDEN_CL

PLATFORM = "cisco_ios"
IP = r"\d{1,3}(?:\.\d{1,3}){3}"
IF = r"(?:Loopback|GigabitEthernet|TenGigabitEthernet|Vlan|Port-channel|Tunnel)[\d/.]+"
NAME = r"[A-Za-z0-9][\w.-]*"
SECRET = SECRET_PATTERN
ADDR = rf"(?:any|host {IP}|{IP} {IP})"

# Every line of a rendered IOS-XE configuration must match one of these (anchored) patterns.
LINES = [
    r"!", r"! .*", r"end", r"service timestamps (?:debug|log) datetime msec localtime show-timezone",
    r"service password-encryption", r"service tcp-keepalives-(?:in|out)", r"no service pad",
    rf"hostname {NAME}", r"no ip domain lookup", rf"ip domain name {NAME}", r"no ip source-route",
    r"no ip http server", r"no ip http secure-server", r"clock timezone [A-Z]{3}(?:[+-]\d\d)? -?\d+ \d+",
    r"aaa new-model", r"aaa authentication login default local", r"aaa authorization exec default local",
    r"tacacs server YX-AAA-\d+", rf" address ipv4 {IP}", rf" key {SECRET}", r"aaa group server tacacs\+ YX-AAA",
    r" server name YX-AAA-\d+", rf" ip tacacs source-interface {IF}",
    r"aaa authentication login default group YX-AAA local",
    r"aaa authorization exec default group YX-AAA local if-authenticated",
    r"aaa accounting exec default start-stop group YX-AAA",
    r"aaa accounting commands 15 default start-stop group YX-AAA",
    r"line aux 0", r" transport input none", r" no exec",
    r"aaa session-id common",
    rf"username {NAME} privilege \d+ algorithm-type scrypt secret {SECRET}",
    r"privilege exec level 1 show", r"privilege exec (?:all )?level \d+ (?:show (?:running-config|startup-config|"
    r"logging)|clear counters)",
    r"ip ssh version 2", r"ip ssh time-out \d+", r"ip ssh authentication-retries \d", rf"ip ssh source-interface {IF}",
    r"login block-for \d+ attempts \d+ within \d+", r"login on-(?:failure|success) log",
    r"archive", r" log config", r"  logging enable", r"  logging size \d+", r"  notify syslog contenttype plaintext",
    r"  hidekeys", r" path bootflash:\$h-archive", r" maximum \d+", r" write-memory",
    r"ip access-list standard [A-Z-]+", rf" \d+ permit {IP} {IP}", r" \d+ deny any log",
    rf"ip access-list extended {NAME}", r" remark \S.*",
    rf" \d+ (?:permit|deny) (?:ip|tcp|udp) {ADDR} {ADDR}(?: eq \d+| range \d+ \d+)?(?: established)?",
    rf" \d+ (?:permit|deny) icmp {ADDR} {ADDR}(?: \d+(?: \d+)?)?",  # ICMP type [code] as numbers
    r"crypto ikev2 proposal [A-Z0-9-]+", r" encryption aes-(?:cbc|gcm)-(?:128|192|256)",
    r" (?:integrity|prf) sha(?:1|256|384|512)", r" group (?:2|5|14|15|16|19|20|21)",
    r"crypto ikev2 policy [A-Z0-9-]+", r" proposal [A-Z0-9-]+", r"crypto ikev2 keyring [A-Z0-9-]+",
    rf" peer {NAME}", rf"  address {IP}", rf"  identity fqdn {NAME}", rf"  pre-shared-key {SECRET}",
    rf"crypto ikev2 profile IKEV2-{NAME}", rf" match identity remote fqdn {NAME}", rf" identity local fqdn {NAME}",
    r" authentication (?:remote|local) pre-share", r" keyring local [A-Z0-9-]+", r" dpd \d+ \d+ on-demand",
    r"crypto ipsec transform-set ESP-TS esp-(?:aes|gcm) (?:128|192|256)(?: esp-sha(?:256|384|512)?-hmac)?",
    r" mode tunnel", rf"crypto ipsec profile IPSEC-{NAME}", r" set transform-set ESP-TS",
    r" set pfs group\d+", rf" set ikev2-profile IKEV2-{NAME}",
    r"vlan \d+", rf" name {NAME}",
    rf"interface {IF}", r" description \S.*", r" switchport", r" switchport mode (?:access|trunk)",
    r" switchport access vlan \d+", r" switchport trunk allowed vlan (?:none|\d+(?:,\d+)*)",
    r" spanning-tree portfast", r" no switchport", r" channel-group \d+ mode active",
    rf" ip address {IP} {IP}", r" no ip address", r" no ip (?:redirects|unreachables|proxy-arp)",
    r" ip mtu \d+", r" ip tcp adjust-mss \d+", rf" tunnel source {IF}", r" tunnel mode ipsec ipv4",
    rf" tunnel destination {IP}", rf" tunnel protection ipsec profile IPSEC-{NAME}", rf" ip helper-address {IP}",
    rf" ip access-group {NAME} (?:in|out)", r" ip nat (?:inside|outside)", rf" ip ospf \d+ area {IP}",
    r" ip ospf network point-to-point", r" ip ospf cost \d+", r" ip ospf (?:hello|dead)-interval \d+",
    r" ip ospf authentication key-chain OSPF-KEYS", r" ip ospf authentication message-digest",
    rf" ip ospf message-digest-key \d+ md5 {SECRET}", r"key chain OSPF-KEYS", r" key \d+", rf"  key-string {SECRET}",
    r"  cryptographic-algorithm hmac-sha-256", rf" neighbor {IP} password {SECRET}",
    rf" neighbor {IP} ttl-security hops \d+", rf"  neighbor {IP} maximum-prefix \d+ \d+",
    rf" vrrp \d+ ip {IP}", r" vrrp \d+ priority \d+", r" vrrp \d+ preempt", r" no shutdown",
    rf"ip prefix-list {NAME} seq \d+ permit {IP}/\d+(?: le 32)?", rf"route-map {NAME} permit \d+",
    rf" match ip address prefix-list {NAME}",
    r"router ospf \d+", rf" router-id {IP}", r" log-adjacency-changes detail", rf" area {IP} stub(?: no-summary)?",
    rf" area {IP} nssa", rf" area {IP} range {IP} {IP}", rf" passive-interface {IF}",
    r" default-information originate",
    rf" redistribute (?:static|connected|bgp \d+) subnets(?: route-map {NAME})?",
    r"router bgp \d+", rf" bgp router-id {IP}", r" bgp log-neighbor-changes", r" no bgp default ipv4-unicast",
    rf" neighbor {IP} remote-as \d+", rf" neighbor {IP} description \S.*", rf" neighbor {IP} update-source {IF}",
    r" !", r" address-family ipv4", rf"  network {IP} mask {IP}", rf"  neighbor {IP} activate",
    rf"  neighbor {IP} prefix-list {NAME} (?:in|out)", r" exit-address-family",
    rf"ip route {IP} {IP}(?: (?:Null0|{IF}))?(?: {IP})?(?: \d+)?(?: name [\w.-]+)?",
    rf"ip dhcp excluded-address {IP} {IP}", rf"ip dhcp pool {NAME}", rf" network {IP} {IP}",
    rf" default-router {IP}", rf" dns-server {IP}(?: {IP})*", rf" domain-name {NAME}", r" lease \d+",
    rf"ip nat inside source list NAT-INSIDE interface {IF} overload",
    rf"ip nat inside source static (?:tcp|udp) {IP} \d+ {IP} \d+ extendable",
    rf"ntp source {IF}", rf"ntp server {IP}", r"logging buffered \d+ informational", r"logging trap informational",
    rf"logging source-interface {IF}", rf"logging host {IP}",
    r"snmp-server view COUNTYNET iso included",
    r"snmp-server group COUNTYNET v3 priv read COUNTYNET access MGMT-ACCESS",
    rf"snmp-server user {NAME} COUNTYNET v3 auth sha {SECRET} priv aes 128 {SECRET} access MGMT-ACCESS",
    rf"snmp-server trap-source {IF}", rf"snmp-server host {IP} version 3 priv {NAME}",
    r"banner login \^C", r"\^C", r"[^^]+",  # the banner text itself: anything without the delimiter
    r"line con 0", r"line vty 0 4", r"line vty 5 15", r" exec-timeout \d+ 0", r" logging synchronous",
    r" access-class MGMT-ACCESS in", r" transport (?:input|output) ssh",
]
LINE_RE = re.compile("|".join(f"(?:{p})" for p in LINES))


@pytest.fixture(scope="module")
def feature(bundled):
    d = feature_intent(bundled.intents["yx-city-1"], PLATFORM)
    return render_device(d)["yx-feature-1.cfg"]


def cisco_devices(bundled):
    return [d for d in bundled.intents.values() if d.platform == PLATFORM]


@pytest.mark.parametrize("host", GOLDEN_CL[PLATFORM])
def test_golden(bundled, host):
    diff = golden_diff(PLATFORM, host, render_device(bundled.intents[host]))
    assert not diff, "\n" + diff


def test_bundled_has_the_cisco_devices_the_brief_names(bundled):
    names = {d.hostname for d in cisco_devices(bundled)}
    assert {"yx-city-1", "yx-u-tax", "yx-u-police", "yx-u-pbc"} <= names


def test_every_line_is_known_syntax(bundled, feature):
    texts = {d.hostname: render_device(d)[f"{d.hostname}.cfg"] for d in cisco_devices(bundled)}
    texts["yx-feature-1"] = feature
    bad = [f"{h}: {line!r}" for h, t in texts.items() for line in t.splitlines()
           if not LINE_RE.fullmatch(line)]
    assert not bad, "lines outside the known IOS-XE syntax:\n" + "\n".join(bad[:40])


def test_city_edge(bundled):
    cfg = render_device(bundled.intents["yx-city-1"])["yx-city-1.cfg"]
    d = bundled.intents["yx-city-1"]
    n = d.routing.bgp.neighbors[0]
    assert f" neighbor {n.address} remote-as {n.remote_as}" in block(cfg, f"router bgp {d.routing.bgp.asn}")
    af = cfg.split(" address-family ipv4\n")[1].split(" exit-address-family")[0]
    assert f"  neighbor {n.address} prefix-list BGP-{n.address}-IN in" in af
    assert f"  neighbor {n.address} prefix-list BGP-{n.address}-OUT out" in af
    for p in n.import_prefixes:
        assert re.search(rf"^ip prefix-list BGP-{re.escape(n.address)}-IN seq \d+ permit {p} le 32$", cfg, re.M)
    assert "ip route 10.30.0.0 255.255.0.0 Null0 name aggregate_for_BGP" in cfg
    ospf = block(cfg, "router ospf 1")
    assert " redistribute bgp 65030 subnets route-map OSPF-REDIST" in ospf
    for p in d.routing.ospf.redistribute_prefixes:
        assert re.search(rf"^ip prefix-list OSPF-REDIST seq \d+ permit {p} le 32$", cfg, re.M)
    core_links = [i for i in d.interfaces if i.peer and i.peer.host.startswith("yx-core")]
    assert len(core_links) == 2
    for i in core_links:
        assert " ip ospf 1 area 0.0.0.0" in block(cfg, f"interface {i.name}")
    uplink = next(i for i in d.interfaces if i.zone == "city")
    assert not [x for x in block(cfg, f"interface {uplink.name}") if "ospf" in x]


@pytest.mark.parametrize("host", ["yx-u-tax", "yx-u-police", "yx-u-pbc"])
def test_unit_router(bundled, host):
    d = bundled.intents[host]
    cfg = render_device(d)[f"{host}.cfg"]
    pool = d.dhcp[0]
    lan = d.interface(pool.interface)
    assert lan.kind == "routed"
    assert f" ip address {lan.address.split('/')[0]}" in "\n".join(block(cfg, f"interface {lan.name}"))
    assert f" network {pool.network.split('/')[0]}" in "\n".join(block(cfg, f"ip dhcp pool {pool.name}"))
    assert f" default-router {pool.gateway}" in block(cfg, f"ip dhcp pool {pool.name}")
    # internal router of a totally-stubby area: `stub` (no-summary is the ABR's business)
    area = d.routing.ospf.areas[0]
    assert area.type == "totally-stub"
    assert f" area {area.id} stub" in block(cfg, "router ospf 1")
    assert f" passive-interface {lan.name}" in block(cfg, "router ospf 1")


def test_feature_acls_and_bindings(feature):
    assert block(feature, "ip access-list extended from-core") == [
        " remark management to servers",
        " 10 permit tcp 10.30.18.0 0.0.0.255 host 10.30.17.12 eq 22",
        " 20 permit udp any 10.30.16.0 0.0.0.255 range 5000 5010",
        " 30 permit tcp any 10.30.40.0 0.0.0.255 established",
        " 40 permit icmp 10.0.0.0 0.255.255.255 any",
        " 50 deny ip any any",
    ]
    assert " ip access-group from-core in" in block(feature, "interface GigabitEthernet0/0/0")
    assert " ip access-group to-township out" in block(feature, "interface GigabitEthernet0/0/1")


def test_feature_nat(feature):
    assert " ip nat outside" in block(feature, "interface GigabitEthernet0/0/2")
    assert " ip nat inside" in block(feature, "interface GigabitEthernet0/0/0")
    assert " ip nat inside" not in block(feature, "interface GigabitEthernet0/0/7")  # also internet-facing
    assert "ip nat inside source list NAT-INSIDE interface GigabitEthernet0/0/2 overload" in feature
    assert "ip nat inside source static tcp 10.30.16.12 443 203.0.113.4 443 extendable" in feature
    assert block(feature, "ip access-list standard NAT-INSIDE") == [" 10 permit 10.30.16.0 0.0.0.255",
                                                                   " 20 permit 10.30.40.0 0.0.0.255"]


def test_feature_ipsec_spoke(feature):
    tun = block(feature, "interface Tunnel1")
    assert " tunnel protection ipsec profile IPSEC-yx-vpnhub-1" in tun
    assert " tunnel source GigabitEthernet0/0/7" in tun and " tunnel destination 203.0.113.10" in tun
    prof = block(feature, "crypto ikev2 profile IKEV2-yx-vpnhub-1")
    assert " match identity remote fqdn yx-vpnhub-1.yx.egov.local" in prof
    assert " identity local fqdn yx-feature-1.yx.egov.local" in prof
    assert "  pre-shared-key ${secret:vpn-psk-feature}" in feature
    assert block(feature, "crypto ikev2 proposal IKEV2-PROPOSAL") == [
        " encryption aes-cbc-256", " integrity sha256", " group 14"]
    assert "crypto ipsec transform-set ESP-TS esp-aes 128 esp-sha-hmac" in feature
    assert " set pfs group5" in block(feature, "crypto ipsec profile IPSEC-yx-vpnhub-1")


def test_feature_switching_vrrp_lag_ospf(feature):
    assert " vrrp 10 ip 10.30.40.1" in block(feature, "interface Vlan10")
    assert " vrrp 10 priority 120" in block(feature, "interface Vlan10")
    for m in ("GigabitEthernet0/0/3", "GigabitEthernet0/0/4"):
        assert " channel-group 1 mode active" in block(feature, f"interface {m}")
    assert " switchport trunk allowed vlan 10,20" in block(feature, "interface Port-channel1")
    assert " switchport access vlan 10" in block(feature, "interface GigabitEthernet0/0/5")
    ospf = block(feature, "router ospf 1")
    assert " area 0.0.0.11 stub no-summary" in ospf  # this device is an ABR
    assert " area 0.0.0.11 range 10.30.128.0 255.255.240.0" in ospf
    assert " area 0.0.0.12 nssa" in ospf and " default-information originate" in ospf
    assert "ip route 10.30.129.64 255.255.255.240 10.30.4.6 200" in feature
    # DHCP: the pool hands out exactly range_start..range_end
    assert "ip dhcp excluded-address 10.30.41.1 10.30.41.10" in feature
    assert "ip dhcp excluded-address 10.30.41.51 10.30.41.62" in feature


def test_management_plane(bundled):
    d = bundled.intents["yx-u-police"]
    cfg = render_device(d)["yx-u-police.cfg"]
    m = d.management
    for src in m.allowed_sources:
        net = src.split("/")[0]
        assert any(line.startswith(" ") and f"permit {net} " in line
                   for line in block(cfg, "ip access-list standard MGMT-ACCESS")), src
    for vty in ("line vty 0 4", "line vty 5 15"):
        assert block(cfg, vty) == [" access-class MGMT-ACCESS in", f" exec-timeout {m.idle_timeout_minutes} 0",
                                   " transport input ssh", " transport output ssh"]
    assert f"login block-for {m.lockout_minutes * 60} attempts {m.login_attempts} within 120" in cfg
    assert "clock timezone CST 8 0" in cfg and "no ip http server" in cfg and "ip ssh version 2" in cfg
    assert f"ntp server {m.ntp_servers[0]}" in cfg and f"ntp source {m.source_interface}" in cfg
    assert f"logging host {m.syslog_servers[0]}" in cfg
    assert f"logging source-interface {m.source_interface}" in cfg
    assert block(cfg, "archive")[-3:] == [" path bootflash:$h-archive", " maximum 14", " write-memory"]
    assert m.banner in cfg.split("banner login ^C\n")[1].split("\n^C")[0]


def test_secrets_only_as_placeholders(bundled, feature):
    devs = [*cisco_devices(bundled), feature_intent(bundled.intents["yx-city-1"], PLATFORM)]
    for d in devs:
        text = render_device(d)[f"{d.hostname}.cfg"]
        for line in text.splitlines():
            if not line.startswith("!") and re.search(r"\b(secret|pre-shared-key|auth sha|isakmp key|key-string)\b"
                                                    r"|^ key (?!\d+$)|neighbor \S+ password", line):
                assert re.search(SECRET, line), line
        for u in d.management.users:  # each device its own local secrets (`<secret>.<host>`)
            assert u.secret.endswith(f".{bundled.intents['yx-city-1'].hostname}") or u.secret.endswith(
                f".{d.hostname}"), u.secret
            assert f"secret ${{secret:{u.secret}}}" in text


def test_deterministic(bundled):
    from countynet.outputs.pipeline import compile_topology

    again = compile_topology(Path(__file__).resolve().parent.parent / "topology")
    for d in cisco_devices(bundled):
        assert render_device(d) == render_device(again.intents[d.hostname])
