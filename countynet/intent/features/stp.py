"""Spanning tree on every switch (issue 11, docs/design.md "Loop prevention").

The access switches of the centre are dual-homed to both cores and the core Eth-Trunk carries the same VLANs:
without spanning tree that is a loop (and Comware 7 starts with STP globally off). MSTP, one region named after
the county, every VLAN in instance 0; the cores are root and secondary root in their VRRP rank order.
"""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Stp
from countynet.intent.parts import Layout
from countynet.intent.plan import DevicePlan


def stp(dev: DevicePlan, facts: Facts, layout: Layout) -> Stp | None:
    """MSTP settings of a switch with switched ports, or None (routers, servers, a switch without them).

    Access ports in a transit VLAN (routed links) are outside STP; other access ports whose peer is not a
    switch face hosts and are edge ports, with BPDU protection on the device when it has any."""
    if dev.hw.kind != "switch":
        return None
    switched = [i for i in layout.interfaces if i.kind in ("access", "trunk", "lag")]
    if not switched:
        return None
    vl = facts.topo.county.vlans
    off, edge = [], []
    for i in switched:
        if i.kind != "access":
            continue
        if i.vlan is not None and vl.transit_first <= i.vlan <= vl.transit_last:
            off.append(i.name)
        elif not (i.peer and i.peer.host in facts.devices and facts.devices[i.peer.host].hw.kind == "switch"):
            edge.append(i.name)
    cores = list(facts.cores)
    rank = cores.index(dev.name) if dev.name in cores else None
    root = "primary" if rank == 0 else "secondary" if rank == 1 else None
    return Stp(region=facts.topo.county.county.name, root=root, bpdu_protection=bool(edge), edge_ports=edge,
               off_ports=off)
