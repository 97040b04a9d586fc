"""The intent stage as pure feature functions: facts computed once and frozen, each feature returning its own
part, the order stated once, both ends of a VPN agreeing, NAT and the filters reading the same rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from countynet.errors import TopologyError
from countynet.intent.assemble import LAYOUT, device_intent
from countynet.intent.facts import Facts, county_facts
from countynet.intent.features.loopback import loopback
from countynet.intent.features.vpn_hub import vpn_hub
from countynet.intent.features.vpn_spoke import vpn_spoke
from countynet.intent.plan import allocate, plan
from countynet.ipam import lock as lockfile
from countynet.outputs.pipeline import compile_topology
from tests.conftest import edit


@pytest.fixture(scope="module")
def facts(bundled) -> Facts:
    t = bundled.topology
    p = plan(t)
    return county_facts(t, p, allocate(t, p, lockfile.read(t.root)[0]))


def test_facts_are_frozen(facts: Facts) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.hub = "elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        facts.devices["x"] = facts.devices["yx-core-1"]  # type: ignore[index]


def test_each_device_is_assembled_alone(bundled, facts: Facts) -> None:
    """A device's intent depends on its plan and the facts only: assembled in any order, one at a time, it is
    the intent the build made (before the policy's filters)."""
    from countynet.errors import Collector

    col = Collector("build")
    for name in reversed(sorted(facts.devices)):
        mine = device_intent(facts.devices[name], facts, col)
        built = bundled.intents[name].model_copy(update={
            "filters": [], "interfaces": [i.model_copy(update={"acl_in": None, "acl_out": None})
                                          for i in bundled.intents[name].interfaces]})
        assert mine == built, name
    assert not col.items


def test_features_are_pure(facts: Facts) -> None:
    for name in ("yx-core-1", "yx-vpnhub-1", "yx-aonan-gongyi", "yx-u-tax", "yx-fw-1"):
        dev = facts.devices[name]
        for feature in LAYOUT:
            assert feature(dev, facts) == feature(dev, facts), (feature.__name__, name)


def test_the_order_is_stated_once(bundled) -> None:
    """Interfaces come in the order of LAYOUT: the loopback first, then link ends, ..."""
    assert LAYOUT[0] is loopback
    for name, d in bundled.intents.items():
        if d.loopback:
            assert d.interfaces[0].kind == "loopback" and d.interfaces[0].address == d.loopback, name
    core = bundled.intents["yx-core-1"].interfaces
    link_ends = [n for n, i in enumerate(core) if i.link]
    gateways = [n for n, i in enumerate(core) if i.vrrp]
    assert link_ends and gateways and max(link_ends) < min(gateways)  # links before zone_gateways


def test_the_hub_learns_its_peers_from_the_facts_and_both_ends_agree(facts: Facts) -> None:
    hub = vpn_hub(facts.devices["yx-vpnhub-1"], facts)
    assert hub.vpn is not None and hub.vpn.role == "hub"
    peers = {p.name: p for p in hub.vpn.peers}
    assert list(peers) == [v.device for v in facts.vpn_villages] and len(peers) > 10
    for v in facts.vpn_villages:
        spoke = vpn_spoke(facts.devices[v.device], facts)
        assert spoke.vpn is not None
        (s,), h = spoke.vpn.peers, peers[v.device]
        assert (s.psk_secret, s.local_id, s.remote_id) == (h.psk_secret, h.remote_id, h.local_id)
        assert s.remote_address == h.local_address and s.local_networks == h.remote_networks
        assert s.remote_networks == h.local_networks
        # route-based hub: the village's LAN and loopback, and its tunnel subnet (the router's own tunnel address)
        assert {r.prefix for r in hub.static if r.description.startswith(v.device)} == {*v.local_networks, v.tunnel}
    assert vpn_hub(facts.devices["yx-core-1"], facts) == vpn_spoke(facts.devices["yx-core-1"], facts)  # nothing


def test_nat_and_the_filters_read_the_same_rules(topo_copy: Path) -> None:
    """A rule dropped after its grace period takes its published NAT with it, as it takes its filter line."""
    before = compile_topology(topo_copy).intents["yx-fw-1"]
    assert before.nat and any(s.name.startswith("yx-mail-1-tcp25") for s in before.nat.static)
    edit(topo_copy / "policy.yaml", "    reason: inbound mail\n", "    reason: inbound mail\n    expires: 2001-01-01\n")
    after = compile_topology(topo_copy).intents["yx-fw-1"]
    assert after.nat and not any(s.name.startswith("yx-mail-1") for s in after.nat.static)
    lines = {r.remark for f in after.filters for r in f.rules}
    assert "internet-to-mail" in {r.remark for f in before.filters for r in f.rules}
    assert "internet-to-mail" not in lines


def test_a_vlan_used_twice_on_a_device_is_a_located_error(topo_copy: Path) -> None:
    edit(topo_copy / "county.yaml", "  transit_first: 3001\n  transit_last: 3999\n",
         "  transit_first: 99\n  transit_last: 140\n")
    with pytest.raises(TopologyError) as info:
        compile_topology(topo_copy)
    report = info.value.render()
    assert "topology/county.yaml:41:1: error: vlans: VLAN 99 on yx-core-1 is both " in report
    assert "keep transit VLANs (99-140) clear of the zone and LAN VLANs" in report


def test_a_vpn_village_without_a_broadband_port_is_a_located_error(topo_copy: Path) -> None:
    edit(topo_copy / "catalog.yaml", '      wan: ["GigabitEthernet0/0/4"]\n', '      dsl: ["GigabitEthernet0/0/4"]\n')
    with pytest.raises(TopologyError) as info:
        compile_topology(topo_copy)
    assert "error: hardware.ar161.ports: model ar161 has no 'wan' port, but yx-aonan-gongyi is a VPN village on " \
           "broadband" in info.value.render()


def test_access_security_covers_host_ports_uplinks_and_unused_ports(bundled) -> None:
    """The access-layer section (docs/security.md "Access layer") on the switches that face hosts only: host ports
    are exactly the STP edge ports, every other switched port is a trusted uplink, unused ports are the catalogue
    model's ports the intent does not use; IP source guard only on Comware's DHCP-served VLAN interfaces."""
    from countynet.topology.ranges import expand_ports

    catalog = bundled.topology.catalog.hardware
    seen = set()
    for host, d in bundled.intents.items():
        a = d.access_security
        if d.role not in ("township_switch", "access_switch") or not (d.stp and d.stp.edge_ports):
            assert a is None, host
            continue
        assert a is not None, host
        seen.add(d.flavour)
        assert a.untrusted_ports == d.stp.edge_ports, host
        switched = [i.name for i in d.interfaces if i.kind in ("access", "trunk", "lag")]
        assert sorted(a.trusted_ports) == sorted(set(switched) - set(d.stp.edge_ports)), host
        used = {i.name for i in d.interfaces}
        ports = expand_ports(p for group in catalog[d.model].ports.values() for p in group)
        assert a.unused_ports == [p for p in ports if p not in used] and not set(a.unused_ports) & used, host
        served = [p.interface for p in d.dhcp]
        assert a.source_guard_interfaces == (served if d.flavour == "h3c_comware7" else []), host
    assert seen == {"huawei_vrp5", "h3c_comware7"}
