"""Round trip for Huawei VRP and H3C Comware: every rendered config of the bundled build, parsed back
with the TTP templates of countynet.render.roundtrip, shows exactly the intent; and the check catches broken
templates and edited configs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from countynet.intent.models import AclRule, DeviceIntent, Filter
from countynet.render.engine import TEMPLATES, render_device
from countynet.render.roundtrip import check_device, expected, parse

PLATFORMS = ("huawei_vrp", "h3c_comware")


@pytest.fixture(scope="module")
def devices(bundled) -> dict[str, DeviceIntent]:
    return {h: d for h, d in bundled.intents.items() if d.platform in PLATFORMS}


def test_every_device_round_trips(devices) -> None:
    assert len(devices) > 300
    failures = {h: check_device(d, render_device(d)) for h, d in devices.items()}
    assert {h: f for h, f in failures.items() if f} == {}


def test_parsed_facts_are_substantial(devices) -> None:
    """The parser really reads the config (the equality above is not two empty sets)."""
    core = devices["yx-core-1"]
    got = parse(core.platform, render_device(core), core)
    assert got.hostname == "yx-core-1"
    assert got.vlans == {v.id for v in core.vlans} and len(got.vlans) >= 5
    assert got.interfaces["Eth-Trunk1"].trunk_vlans == set(core.interface("Eth-Trunk1").vlans)
    assert {n for n, i in got.interfaces.items() if i.lag == "Eth-Trunk1"} == {"100GE1/0/1", "100GE1/0/2"}
    assert len(got.ospf_interfaces) == sum(1 for i in core.interfaces if i.ospf)
    wan = devices["yx-wan-1"]
    areas = set(parse(wan.platform, render_device(wan), wan).ospf_interfaces.values())
    assert len(areas) > 10
    village = devices["yx-gaoxi-datang"]
    facts = parse(village.platform, render_device(village), village)
    assert facts.static_routes == {"0.0.0.0/0", "10.30.0.0/16"}
    assert facts.interfaces["Tunnel1"].address == village.interface("Tunnel1").address


def with_filter(d: DeviceIntent, number: int) -> DeviceIntent:
    iface = next(i.name for i in d.interfaces if i.kind in ("svi", "routed") and i.address)
    flt = Filter(name="edge-in", number=number, rules=[
        AclRule(seq=5, action="permit", protocol="tcp", source="10.30.18.0/24", destination="0.0.0.0/0",
                port_min=22, port_max=22),
        AclRule(seq=10, action="permit", protocol="icmp", source="0.0.0.0/0", destination="0.0.0.0/0"),
        AclRule(seq=100, action="deny", protocol="ip", source="0.0.0.0/0", destination="0.0.0.0/0"),
    ])
    ifs = [i.model_copy(update={"acl_in": flt.name}) if i.name == iface else i for i in d.interfaces]
    return d.model_copy(update={"filters": [*d.filters, flt], "interfaces": ifs})


@pytest.mark.parametrize("host", ["yx-aonan-gongyi", "yx-core-1", "yx-gaoxi-datang", "yx-fw-1"])
def test_filters_round_trip(devices, host: str) -> None:
    d = with_filter(devices[host], 3905)
    files = render_device(d)
    assert check_device(d, files) == []
    assert parse(d.platform, files, d).acl_rules == {f.name: len(f.rules) for f in d.filters}
    assert parse(d.platform, files, d).acl_rules["edge-in"] == 3
    # one ACL line lost on the way is reported
    name = f"{host}.cfg"
    broken = {name: files[name].replace(" rule 10 permit icmp source any destination any\n", "")}
    assert any(x.startswith("ACL rules") for x in check_device(d, broken))


# (host, text in the rendered config, replacement, expected start of a reported difference)
EDITS = [
    ("yx-aonan-sw1", " port default vlan 20\n", " port default vlan 21\n", "interface GigabitEthernet0/0/"),
    ("yx-core-1", " port trunk allow-pass vlan 99 to 101\n", " port trunk allow-pass vlan 99 100\n",
     "interface 10GE1/0/1: trunk VLANs"),
    ("yx-core-1", " eth-trunk 1\n", " eth-trunk 2\n", "interface 100GE1/0/1: aggregate"),
    ("yx-core-1", "vlan batch 10 20 99 to 101 200 to 203 3001 to 3006\n#\nvlan 10\n name dmz\n",
     "vlan batch 20 99 to 101 200 to 203 3001 to 3006\n#\n", "VLANs"),
    ("yx-wan-1", "  network 10.30.4.0 0.0.0.3\n", "", "OSPF interfaces/areas"),
    ("yx-aonan-gongyi", "ip route-static 10.30.0.0 255.255.0.0", "ip route-static 10.31.0.0 255.255.0.0",
     "static routes"),
    ("yx-gaoxi-sw1", " port access vlan 10\n", " port access vlan 11\n", "interface GigabitEthernet1/0/"),
    ("yx-gaoxi-rt1", "sysname yx-gaoxi-rt1", "sysname yx-gaoxi-rt2", "hostname"),
    ("yx-gaoxi-datang", "interface Tunnel1 mode ipsec\n", "interface Tunnel2 mode ipsec\n", "interface Tunnel1"),
    ("yx-fw-1", " area 0.0.0.0\n", " area 0.0.0.1\n", "OSPF interfaces/areas"),
]


@pytest.mark.parametrize(("host", "old", "new", "report"), EDITS)
def test_edited_config_is_caught(devices, host: str, old: str, new: str, report: str) -> None:
    d = devices[host]
    text = render_device(d)[f"{host}.cfg"]
    assert old in text
    diffs = check_device(d, {f"{host}.cfg": text.replace(old, new, 1)})
    assert any(x.startswith(report) for x in diffs), diffs


def copy_templates(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return root


@pytest.mark.parametrize(("rel", "old", "new", "host", "report"), [
    # an access port loses its VLAN
    ("interfaces/huawei_vrp.j2", " port default vlan {{ i.vlan }}\n", "", "yx-aonan-sw1", "interface "),
    # network statements written with the mask instead of the wildcard: the loopback's statement
    # (255.255.255.255) now takes every interface into its area, the /30 ones match nothing
    ("routing/huawei_vrp.j2", "{{ i.address|wildcard }}", "{{ i.address|netmask }}", "yx-wan-1",
     "OSPF interfaces/areas"),
    # the IPsec tunnel numbered by position instead of by the intent
    ("interfaces/h3c_comware.j2", "interface {{ i.name }} mode ipsec", "interface Tunnel{{ loop.index }} mode ipsec",
     "yx-gaoxi-datang", "interface Tunnel1: missing"),
    ("interfaces/h3c_comware.j2", " port access vlan {{ i.vlan }}\n", "", "yx-gaoxi-sw1", "interface "),
    # the first VLAN is not declared
    ("base/h3c_comware.j2", "{% for v in d.vlans %}", "{% for v in d.vlans[1:] %}", "yx-gaoxi-sw1", "VLANs"),
    # members not joined to their Bridge-Aggregation / Eth-Trunk
    ("interfaces/huawei_vrp.j2", " eth-trunk {{ i.lag_id }}\n", "", "yx-core-1", "interface 100GE1/0/1: aggregate"),
])
def test_broken_template_is_caught(devices, tmp_path: Path, rel: str, old: str, new: str, host: str,
                                   report: str) -> None:
    d = devices[host]
    assert check_device(d, render_device(d)) == []
    root = copy_templates(tmp_path, rel, old, new)
    diffs = check_device(d, render_device(d, root=root))
    assert any(x.startswith(report) for x in diffs), diffs


def test_parser_reads_like_the_device(devices) -> None:
    """Hand-written VRP text (not from our templates): VLAN ranges, the most specific network statement,
    dotted masks and lengths, basic ACLs not counted as filters."""
    d = devices["yx-aonan-rt1"]
    text = "\n".join([
        "#", "sysname r1", "vlan batch 5 7 to 9", "#", "vlan 12", "#",
        "acl number 2000", " rule 5 permit source 10.0.0.0 0.255.255.255", "#",
        "acl number 3100", " description lan-in", " rule 5 permit ip", " rule 10 deny ip", "#",
        "interface Eth-Trunk3", " port link-type trunk", " port trunk allow-pass vlan 2 to 4 9", "#",
        "interface GigabitEthernet0/0/1", " eth-trunk 3", "#",
        "interface GigabitEthernet0/0/2", " ip address 192.0.2.1 255.255.255.0", "#",
        "interface GigabitEthernet0/0/3", " ip address 198.51.100.1 255.255.255.0", "#",
        "ospf 1 router-id 1.1.1.1", " area 0.0.0.0", "  network 192.0.2.0 0.0.0.255",
        " area 0.0.0.7", "  network 192.0.0.0 0.0.255.255", "#",
        "ip route-static 203.0.113.0 255.255.255.128 NULL0", "#",
        "bgp 65001", " peer 192.0.2.2 as-number 65002", "#", "return", ""])
    f = parse("huawei_vrp", {"x.cfg": text}, d)
    assert f.hostname == "r1"
    assert f.vlans == {5, 7, 8, 9, 12}
    assert f.interfaces["Eth-Trunk3"].trunk_vlans == {2, 3, 4, 9}
    assert f.interfaces["GigabitEthernet0/0/1"].lag == "Eth-Trunk3"
    assert f.interfaces["GigabitEthernet0/0/2"].address == "192.0.2.1/24"
    assert f.ospf_interfaces == {"GigabitEthernet0/0/2": "0.0.0.0"}
    assert f.static_routes == {"203.0.113.0/25"}
    assert f.bgp_neighbors == {"192.0.2.2": 65002}
    assert f.acl_rules == {"lan-in": 2}
    h3c = parse("h3c_comware", {"x.cfg": "\n".join([
        "#", " sysname s1", "#", "vlan 10 to 12", "#", "interface Bridge-Aggregation2",
        " port link-type trunk", " port trunk permit vlan 10 to 11", "#", "interface Ten-GigabitEthernet1/0/25",
        " port link-aggregation group 2", "#", " ip route-static 10.0.0.0 8 NULL0", "#", "return", ""])}, d)
    assert (h3c.hostname, h3c.vlans, h3c.static_routes) == ("s1", {10, 11, 12}, {"10.0.0.0/8"})
    assert h3c.interfaces["Bridge-Aggregation2"].trunk_vlans == {10, 11}
    assert h3c.interfaces["Ten-GigabitEthernet1/0/25"].lag == "Bridge-Aggregation2"
    assert expected(d).hostname == d.hostname  # the intent side stays the intent's


@pytest.mark.parametrize(("host", "iface", "lines"), [
    ("yx-u-agriculture", "Vlanif10", [" dhcp select relay", " dhcp relay server-ip 10.30.18.30"]),
    ("yx-u-court", "Vlan-interface10", [" dhcp select relay", " dhcp relay server-address 10.30.18.30"]),
])
def test_dhcp_relay(devices, host: str, iface: str, lines: list[str]) -> None:
    d = devices[host]
    relay = d.model_copy(update={
        "dhcp": [], "interfaces": [i.model_copy(update={"dhcp_relay": ["10.30.18.30"]}) if i.name == iface else i
                                   for i in d.interfaces]})
    text = render_device(relay)[f"{host}.cfg"]
    body = text[text.index(f"interface {iface}\n"):]
    body = body[:body.index("\n#\n")].splitlines()
    assert all(line in body for line in lines)
    assert " dhcp enable\n" in text or "\ndhcp enable\n" in text
    assert check_device(relay, {f"{host}.cfg": text}) == []
