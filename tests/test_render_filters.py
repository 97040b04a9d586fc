"""The renderer's Python filters and the helpers under them (address math, ranges), checked against the
standard library's `ipaddress` and against what the templates printed before they became filters."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from countynet.intent.models import AclRule, DhcpPool
from countynet.ipam.addr import host, int2ip, ip2int, network_int, same_subnet
from countynet.render.filters import (
    connected,
    dhcp_excluded,
    ios_acl_match,
    nft_rule,
    vlan_ranges,
    vrp_acl_match,
)
from countynet.topology.ranges import compress_ints, expand_ints, expand_ports

addresses = st.integers(0, 2**32 - 1)
lengths = st.integers(0, 32)


@given(addresses)
def test_ip2int_and_int2ip_agree_with_ipaddress(n: int) -> None:
    text = str(ipaddress.IPv4Address(n))
    assert ip2int(text) == n and ip2int(f"{text}/24") == n
    assert int2ip(n) == text


@given(addresses, lengths, st.integers(-300, 300))
def test_host_and_network_agree_with_ipaddress(n: int, length: int, index: int) -> None:
    net = ipaddress.IPv4Network((n, length), strict=False)
    if not -net.num_addresses <= index < net.num_addresses:
        return
    assert network_int(f"{ipaddress.IPv4Address(n)}/{length}") == int(net.network_address)
    assert host(str(net), index) == f"{net[index]}/{length}"


@given(addresses, addresses, lengths)
def test_same_subnet_agrees_with_ipaddress(a: int, b: int, length: int) -> None:
    iface = ipaddress.IPv4Interface((b, length))
    assert same_subnet(str(ipaddress.IPv4Address(a)), str(iface)) == (ipaddress.IPv4Address(a) in iface.network)


def test_port_ranges_expand() -> None:
    assert expand_ports(["Gi0/0/{1..3}", "eth9"]) == ["Gi0/0/1", "Gi0/0/2", "Gi0/0/3", "eth9"]
    assert expand_ports(["10GE1/0/{48..48}"]) == ["10GE1/0/48"]


@pytest.mark.parametrize(("text", "want"), [
    ("10,20,30-32", {10, 20, 30, 31, 32}),       # IOS
    ("10 20 99 to 101", {10, 20, 99, 100, 101}),  # VRP / Comware
    ("none", set()), ("", set()), ("7", {7}),
])
def test_device_vlan_lists_expand(text: str, want: set[int]) -> None:
    assert expand_ints(text) == want


def test_a_vlan_list_with_a_stray_word_is_an_error() -> None:
    with pytest.raises(ValueError):
        expand_ints("10 twenty")


@given(st.sets(st.integers(1, 4094), max_size=60))
def test_vlan_ranges_round_trip(vlans: set[int]) -> None:
    runs = compress_ints(vlans)
    assert all(lo <= hi for lo, hi in runs) and runs == sorted(runs)
    assert all(b[0] > a[1] + 1 for a, b in itertools.pairwise(runs))  # runs never touch
    assert expand_ints(" ".join(vlan_ranges(vlans))) == vlans


def test_vlan_ranges_words() -> None:
    assert vlan_ranges([20, 10, 99, 100, 101, 11, 20]) == ["10 to 11", "20", "99 to 101"]


def test_dhcp_excluded_leaves_only_the_served_range() -> None:
    p = DhcpPool(name="x", interface="Vlanif10", network="10.30.40.0/24", gateway="10.30.40.1",
                 range_start="10.30.40.11", range_end="10.30.40.200", dns=[])
    assert dhcp_excluded(p) == [("10.30.40.1", "10.30.40.10"), ("10.30.40.201", "10.30.40.254")]
    full = p.model_copy(update={"range_start": "10.30.40.1", "range_end": "10.30.40.254"})
    assert dhcp_excluded(full) == []


def test_connected_next_hop(bundled) -> None:
    server = bundled.intents["yx-db-1"]
    gateway = server.server.gateway
    assert connected(gateway, server) and not connected("192.0.2.1", server)


RULES = [
    (AclRule(seq=5, action="permit", protocol="tcp", source="10.30.18.0/24", destination="10.30.17.12/32",
             port_min=22, port_max=22),
     "tcp source 10.30.18.0 0.0.0.255 destination 10.30.17.12 0 destination-port eq 22",
     "tcp 10.30.18.0 0.0.0.255 host 10.30.17.12 eq 22",
     'ip saddr 10.30.18.0/24 ip daddr 10.30.17.12 tcp dport 22 return comment "seq 5"'),
    (AclRule(seq=10, action="permit", protocol="udp", source="10.30.17.30/32", destination="0.0.0.0/0",
             source_port_min=67, source_port_max=68),
     "udp source 10.30.17.30 0 source-port range 67 68 destination any",
     "udp host 10.30.17.30 range 67 68 any",
     'ip saddr 10.30.17.30 udp sport 67-68 return comment "seq 10"'),
    (AclRule(seq=15, action="permit", protocol="tcp", source="0.0.0.0/0", destination="10.30.40.0/24",
             established=True),
     "tcp source any destination 10.30.40.0 0.0.0.255",
     "tcp any 10.30.40.0 0.0.0.255 established",
     'ct state established,related ip daddr 10.30.40.0/24 ip protocol tcp return comment "seq 15"'),
    (AclRule(seq=20, action="deny", protocol="ip", source="0.0.0.0/0", destination="0.0.0.0/0"),
     "ip source any destination any", "ip any any", 'drop comment "seq 20"'),
    (AclRule(seq=25, action="permit", protocol="udp", source="0.0.0.0/0", destination="10.30.16.0/24",
             port_min=5000, port_max=5010),
     "udp source any destination 10.30.16.0 0.0.0.255 destination-port range 5000 5010",
     "udp any 10.30.16.0 0.0.0.255 range 5000 5010",
     'ip daddr 10.30.16.0/24 udp dport 5000-5010 return comment "seq 25"'),
]


@pytest.mark.parametrize(("rule", "vrp", "ios", "nft"), RULES)
def test_acl_matches_in_each_vendors_words(rule: AclRule, vrp: str, ios: str, nft: str) -> None:
    assert vrp_acl_match(rule) == vrp
    assert ios_acl_match(rule) == ios
    assert nft_rule(rule) == nft
