"""Loop prevention (issue 11, docs/design.md "Loop prevention"): MSTP on every switch.

The intents are checked as a layer-2 graph: switches are nodes, every trunk / aggregate / switched access link
between two switches is an edge (an aggregate is one edge). The centre's graph has cycles (access switches
dual-homed to both cores, plus the core Eth-Trunk), so every switch on it must run the same MSTP region. A
small 802.1D/MSTP CIST computation (bridge priority from the root role, port cost from the port speed) then
shows which ports forward: the result must be a spanning tree rooted at the primary core, with every access
switch's root port towards it. The rendered configurations carry each flavour's form.
"""

from __future__ import annotations

import networkx as nx
import pytest

from countynet.render.engine import render_device

PRIORITY = {"primary": 0, "secondary": 4096, None: 32768}  # Huawei/H3C `stp instance 0 root primary|secondary`
SPEED_COST = (("400GE", 50), ("100GE", 200), ("HundredGigE", 200), ("40GE", 500), ("FortyGigE", 500),
              ("25GE", 800), ("10GE", 2000), ("XGigabitEthernet", 2000), ("Ten-GigabitEthernet", 2000),
              ("GigabitEthernet", 20000))  # IEEE 802.1t long path costs


def port_cost(name: str) -> int:
    return next(cost for prefix, cost in SPEED_COST if name.startswith(prefix))


def switches(intents) -> dict:
    return {h: d for h, d in intents.items() if d.stp}


def l2_graph(intents) -> nx.MultiGraph:
    """Switch-to-switch links that carry VLANs and run STP: one edge per topology link (an aggregate is one
    edge, its cost its members' cost shared), keyed by the link id."""
    sw = switches(intents)
    ends: dict[str, list[tuple[str, int]]] = {}
    for host, d in sw.items():
        for i in d.interfaces:
            if i.kind not in ("trunk", "lag", "access") or not i.link or i.name in d.stp.off_ports:
                continue
            members = [m.name for m in d.interfaces if m.kind == "lag_member" and m.lag == i.name]
            cost = port_cost(members[0]) // len(members) if members else port_cost(i.name)
            ends.setdefault(i.link, []).append((host, cost))
    g = nx.MultiGraph()
    g.add_nodes_from(sw)
    for link, at in ends.items():
        if len(at) == 2 and at[0][0] != at[1][0]:
            g.add_edge(at[0][0], at[1][0], key=link, cost=max(at[0][1], at[1][1]))
    return g


def cist(g: nx.MultiGraph, intents) -> tuple[str, dict[str, tuple]]:
    """(root bridge, bridge -> its root port's edge (u, v, key)) by the spanning-tree rules: lowest bridge id
    is root; each other bridge's root port offers the lowest (root path cost, designated bridge id)."""
    bid = {h: (PRIORITY[intents[h].stp.root], h) for h in g.nodes}
    root = min(g.nodes, key=lambda h: bid[h])
    dist = nx.single_source_dijkstra_path_length(nx.Graph(
        [(u, v, {"cost": min(d["cost"] for d in g.get_edge_data(u, v).values())}) for u, v in g.edges()]),
        root, weight="cost")
    root_port = {}
    for h in g.nodes:
        if h == root:
            continue
        offers = [(dist[n] + data["cost"], bid[n], (h, n, k)) for _, n, k, data in g.edges(h, keys=True, data=True)]
        root_port[h] = min(offers)[2]
    return root, root_port


@pytest.fixture(scope="module")
def intents(bundled):
    return bundled.intents


def test_every_switch_runs_one_mstp_region_and_nothing_else_does(intents) -> None:
    for h, d in intents.items():
        switched = any(i.kind in ("trunk", "access", "lag") for i in d.interfaces)
        if d.role in ("core", "access_switch", "township_switch"):
            assert d.stp is not None, f"{h}: a switch with switched ports and no spanning tree"
        if d.stp is None:
            continue
        assert switched
        assert d.stp.mode == "mstp" and d.stp.region == "yongxin"
    roots = {d.stp.root: h for h, d in switches(intents).items() if d.stp.root}
    assert roots == {"primary": "yx-core-1", "secondary": "yx-core-2"}


def test_the_centre_has_layer2_cycles_that_stp_breaks_into_a_tree(intents) -> None:
    g = l2_graph(intents)
    centre = g.subgraph(nx.node_connected_component(g, "yx-core-1")).copy()
    assert {"yx-core-1", "yx-core-2", "yx-acc-dmz", "yx-acc-srv", "yx-acc-mgmt", "yx-acc-compound"} <= set(centre)
    access = sorted(n for n in centre if n not in ("yx-core-1", "yx-core-2"))
    assert all({"yx-core-1", "yx-core-2"} <= set(centre[a]) for a in access), "every access switch is dual-homed"
    loops = centre.number_of_edges() - centre.number_of_nodes() + 1
    assert loops == len(access), "each dual-homed access switch closes one loop over the core Eth-Trunk"
    root, root_port = cist(centre, intents)
    assert root == "yx-core-1"
    forwarding = nx.Graph([(u, v) for u, v, _ in root_port.values()])
    assert nx.is_tree(forwarding) and set(forwarding) == set(centre)
    for acc in access:
        assert root_port[acc][1] == "yx-core-1", f"{acc}: root port towards {root_port[acc][1]}"
    assert root_port["yx-core-2"][1] == "yx-core-1"  # over the Eth-Trunk, not through an access switch
    blocked = centre.number_of_edges() - forwarding.number_of_edges()
    assert blocked == loops  # one alternate port per loop: the access switches' uplinks to the secondary root


def test_edge_and_off_ports_are_where_they_belong(intents) -> None:
    """Edge ports face hosts (never a switch, never a trunk); ports outside STP carry a VLAN that is on no
    other switched port of the device, so they cannot close a loop."""
    sw = switches(intents)
    for h, d in sw.items():
        by_name = {i.name: i for i in d.interfaces}
        for name in d.stp.edge_ports:
            i = by_name[name]
            assert i.kind == "access"
            assert not (i.peer and i.peer.host in sw), f"{h} {name}: edge port facing switch {i.peer.host}"
        for name in d.stp.off_ports:
            i = by_name[name]
            assert i.kind == "access"
            others = [o.name for o in d.interfaces if o.name != name and (
                (o.kind == "access" and o.vlan == i.vlan) or (o.kind in ("trunk", "lag") and i.vlan in o.vlans))]
            assert not others, f"{h} {name}: VLAN {i.vlan} also on {others}"
        assert d.stp.bpdu_protection == bool(d.stp.edge_ports)
    # the core link is outside STP at both ends: with it inside, the CIST would block it as a second path
    core_link = [i.name for i in intents["yx-core-1"].interfaces if i.peer and i.peer.host == "yx-core-2"
                 and i.kind == "access"]
    assert core_link and set(core_link) <= set(intents["yx-core-1"].stp.off_ports)


@pytest.mark.parametrize(("host", "must", "must_not"), [
    ("yx-core-1", ["stp mode mstp", "stp instance 0 root primary", "stp region-configuration",
                   " region-name yongxin", "stp enable"], [" active region-configuration", "stp bpdu-protection"]),
    ("yx-core-2", ["stp instance 0 root secondary"], ["stp instance 0 root primary"]),
    ("yx-acc-compound", ["stp mode mstp", " active region-configuration", "stp enable"], ["stp instance 0 root"]),
    ("yx-acc-dmz", [" stp mode mstp", " stp bpdu-protection", " active region-configuration", " stp global enable",
                    " stp edged-port"], [" stp instance 0 root primary"]),
])
def test_each_flavour_renders_its_own_forms(intents, host: str, must: list[str], must_not: list[str]) -> None:
    lines = render_device(intents[host])[f"{host}.cfg"].splitlines()
    for line in must:
        assert line in lines, f"{host}: {line!r} missing"
    for line in must_not:
        assert line not in lines, f"{host}: {line!r} rendered"


def test_edge_ports_render_on_every_access_port_facing_a_host(intents) -> None:
    for host, word in (("yx-acc-dmz", " stp edged-port"), ("yx-aonan-sw1", " stp edged-port enable")):
        d = intents[host]
        text = render_device(d)[f"{host}.cfg"]
        blocks = {b.splitlines()[0]: b for b in text.split("#\n") if b.startswith("interface ")}
        for name in d.stp.edge_ports:
            assert word in blocks[f"interface {name}"].splitlines(), f"{host} {name}"
        for name in d.stp.off_ports:
            assert " undo stp enable" in blocks[f"interface {name}"].splitlines(), f"{host} {name}"
