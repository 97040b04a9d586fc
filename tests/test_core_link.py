"""The routed link between the two cores (issue 11, docs/design.md "Core link").

Before it, core-to-core traffic crossed a WAN router, a firewall or the VPN hub. Now each core has a /30 on
its own transit VLANIF over a dedicated port pair, OSPF area 0 point-to-point, and the OSPF shortest path from
one core to the other is that link. The graph is built from the intents' OSPF interfaces (both ends of a
subnet, each end's own cost), the way the routers compute it.
"""

from __future__ import annotations

import ipaddress
import itertools

import networkx as nx

CORES = ("yx-core-1", "yx-core-2")


def ospf_graph(intents) -> nx.DiGraph:
    """Directed OSPF graph: an edge a -> b per shared non-passive subnet, weighted by a's interface cost."""
    ends: dict[ipaddress.IPv4Network, list[tuple[str, int, str]]] = {}
    for host, d in intents.items():
        for i in d.interfaces:
            if i.address and i.ospf and not i.ospf.passive and i.kind != "loopback":
                net = ipaddress.ip_interface(i.address).network
                ends.setdefault(net, []).append((host, i.ospf.cost, i.ospf.area))
    g = nx.DiGraph()
    for net, members in ends.items():
        for (a, cost_a, area_a), (b, _, area_b) in itertools.permutations(members, 2):
            if a != b and area_a == area_b and (not g.has_edge(a, b) or g[a][b]["weight"] > cost_a):
                g.add_edge(a, b, weight=cost_a, net=str(net))
    return g


def core_link(intents):
    """(interface on core 1, interface on core 2) of the routed link between them."""
    c1, c2 = (intents[h] for h in CORES)
    for i in c1.interfaces:
        if i.kind in ("svi", "routed") and i.address and i.ospf and not i.vrrp:
            net = ipaddress.ip_interface(i.address).network
            other = [j for j in c2.interfaces if j.address and ipaddress.ip_interface(j.address).network == net]
            if other and net.prefixlen == 30:
                return i, other[0]
    raise AssertionError("no /30 shared by the two cores")


def test_the_cores_share_a_routed_p2p_link_in_area_0(bundled) -> None:
    a, b = core_link(bundled.intents)
    for i in (a, b):
        assert i.ospf.area == "0.0.0.0"
        assert i.ospf.network_type == "point-to-point"
        assert not i.ospf.passive
    assert a.ospf.cost == b.ospf.cost
    assert ipaddress.ip_interface(a.address).ip != ipaddress.ip_interface(b.address).ip


def test_the_core_link_is_its_own_port_pair_in_a_vlan_nothing_else_carries(bundled) -> None:
    """A transit VLANIF on each core whose VLAN is an access port facing the other core and on no trunk or
    aggregate: no layer-2 path between the cores other than the Eth-Trunk (and so nothing for STP to block)."""
    a, b = core_link(bundled.intents)
    assert a.vlan == b.vlan is not None
    for host, svi, other in ((CORES[0], a, CORES[1]), (CORES[1], b, CORES[0])):
        d = bundled.intents[host]
        ports = [i for i in d.interfaces if i.kind == "access" and i.vlan == svi.vlan]
        assert len(ports) == 1 and ports[0].peer is not None and ports[0].peer.host == other
        assert not [i for i in d.interfaces if i.kind in ("trunk", "lag") and svi.vlan in i.vlans]


def test_core_to_core_traffic_takes_the_core_link(bundled) -> None:
    g = ospf_graph(bundled.intents)
    a, _ = core_link(bundled.intents)
    net = str(ipaddress.ip_interface(a.address).network)
    for src, dst in (CORES, CORES[::-1]):
        path = nx.shortest_path(g, src, dst, weight="weight")
        assert path == [src, dst], f"{src} -> {dst} goes {' -> '.join(path)}"
        assert g[src][dst]["net"] == net
        # every other path is strictly longer: no equal-cost split over the WAN, firewalls or hub
        without = g.copy()
        without.remove_edge(src, dst)
        assert nx.shortest_path_length(without, src, dst, weight="weight") > g[src][dst]["weight"]


def test_the_core_link_renders_on_both_ce(bundled) -> None:
    from countynet.render.engine import render_device

    a, b = core_link(bundled.intents)
    for host, svi in zip(CORES, (a, b), strict=True):
        text = render_device(bundled.intents[host])[f"{host}.cfg"]
        lines = text.splitlines()
        start = lines.index(f"interface {svi.name}")
        block = lines[start:lines.index("#", start)]
        assert " ospf network-type p2p" in block
        assert f" ip address {ipaddress.ip_interface(svi.address).ip} 255.255.255.252" in block
        assert f"  network {ipaddress.ip_interface(svi.address).network.network_address} 0.0.0.3" in lines
