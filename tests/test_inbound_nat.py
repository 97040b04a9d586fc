"""Inbound source NAT of the second internet exit (docs/design.md "Dual ISP", issue 11): the intent, IPAM and the
compiled policy. The lab proves the packets (tests/test_lab_design.py); the Comware rendering is in
tests/test_render_h3c.py."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import yaml

from countynet.intent.policy.zones import zone_map
from tests.conftest import build_topology, edit


def test_second_exit_gets_a_pool_from_ipam_and_announces_it(bundled) -> None:
    """yx-fw-2 (the second firewall by name) gets its /29 from pools.inbound_nat, locked; its pool is the block's
    hosts, bound to its published services, and OSPF redistributes exactly the block's null route. yx-fw-1 (the
    primary exit) has none of it."""
    pools = bundled.topology.county.pools
    assert pools.inbound_nat is not None and pools.inbound_nat.prefix
    block = bundled.lock["addresses"]["inbound_nat"]["yx-fw-2"]
    net = ipaddress.IPv4Network(block)
    assert net.prefixlen == pools.inbound_nat.length and net.subnet_of(ipaddress.IPv4Network(pools.inbound_nat.prefix))
    assert set(bundled.lock["addresses"]["inbound_nat"]) == {"yx-fw-2"}
    fw2 = bundled.intents["yx-fw-2"]
    assert fw2.nat is not None and fw2.nat.static and fw2.nat.inbound is not None
    assert (fw2.nat.inbound.pool, fw2.nat.inbound.first, fw2.nat.inbound.last) == (
        block, str(net.network_address + 1), str(net.broadcast_address - 1))
    assert [(s.prefix, s.interface) for s in fw2.routing.static if s.interface] == [(block, "null")]
    ospf = fw2.routing.ospf
    assert ospf is not None and ospf.redistribute == ["static"] and ospf.redistribute_prefixes == [block]
    fw1 = bundled.intents["yx-fw-1"]
    assert fw1.nat is not None and fw1.nat.inbound is None
    assert fw1.routing.ospf is not None and not fw1.routing.ospf.redistribute
    assert not any(s.interface == "null" for s in fw1.routing.static)


def test_the_pool_is_internet_and_only_published_replies_reach_it(bundled) -> None:
    """The pool stands for internet clients: the zone map puts it in `internet`; on every compiled filter the only
    lines towards it are the published servers' replies (established, from the service port), and on the cores'
    DMZ filters they come before the first deny of internal destinations (which covers the pool)."""
    block = ipaddress.IPv4Network(bundled.intents["yx-fw-2"].nat.inbound.pool)
    zm = zone_map(bundled.intents, bundled.topology.policy, bundled.internal)
    assert zm.zone_of(str(block[1])) == "internet" and block in zm.external["internet"]
    fw2 = bundled.intents["yx-fw-2"]
    published = {(s.inside, s.port) for s in fw2.nat.static}
    seen = 0
    for host, d in bundled.intents.items():
        for f in d.filters:
            first_deny = next((n for n, r in enumerate(f.rules) if r.remark == "no other internal destination"), None)
            for n, r in enumerate(f.rules):
                dst = ipaddress.IPv4Network(r.destination)
                if r.action != "permit" or not dst.overlaps(block) or dst.prefixlen == 0:
                    continue
                assert dst == block, (host, f.name, r)
                assert r.protocol == "tcp" and r.established and r.source_port_min == r.source_port_max, (host, r)
                assert (r.source.split("/")[0], r.source_port_min) in published and r.source.endswith("/32"), r
                assert first_deny is not None and n < first_deny, (host, f.name, r)
                seen += 1
    # both cores' DMZ filters answer every published service
    assert seen == 2 * len(published), seen


def test_without_the_pool_nothing_changes(topo_copy: Path, tmp_path: Path) -> None:
    """A county without pools.inbound_nat builds as before: no inbound NAT, no null route, no reply lines."""
    edit(topo_copy / "county.yaml", "  inbound_nat:", "  # inbound_nat:")
    out = build_topology(topo_copy, tmp_path / "build")
    fw2 = yaml.safe_load((out / "intent" / "yx-fw-2.yaml").read_text())
    assert fw2["nat"]["static"] and fw2["nat"].get("inbound") is None
    assert not fw2["routing"]["ospf"].get("redistribute")
    zones = json.loads((out / "policy" / "zones.json").read_text())
    assert zones["zones"]["internet"]["external"] == []
    assert "address-group" not in (out / "configs" / "yx-fw-2" / "yx-fw-2.cfg").read_text()
