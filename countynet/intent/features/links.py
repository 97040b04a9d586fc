"""Both ends of every link a device is on: routed ports (a transit VLAN and its SVI on a switch), trunks,
access ports and aggregates with their members."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Interface, OspfIf, Peer
from countynet.intent.parts import Part
from countynet.intent.plan import BACKBONE, DevicePlan, LinkPlan
from countynet.ipam.addr import host


def links(dev: DevicePlan, facts: Facts) -> Part:
    """The device's link interfaces, in link order; its transit and carried VLANs; the areas its routed links
    put it in."""
    ifaces: list[Interface] = []
    vlans: list[tuple[int, str]] = []
    areas: set[str] = set()
    for lp, side in facts.ends.get(dev.name, ()):
        _end(dev, facts, lp, side, ifaces, vlans, areas)
    return Part(interfaces=tuple(ifaces), vlans=tuple(vlans), areas=frozenset(areas))


def _end(d: DevicePlan, facts: Facts, lp: LinkPlan, side: str, ifaces: list[Interface],
         vlans: list[tuple[int, str]], areas: set[str]) -> None:
    other_side = "b" if side == "a" else "a"
    other = facts.devices[(lp.b if side == "a" else lp.a).device]
    owner = lp.owner(side)
    mine = facts.port(d.name, owner) if lp.members == 1 else None
    theirs = facts.port(other.name, lp.owner(other_side)) if lp.members == 1 else None
    desc = f"to {other.name}" + (f" {theirs}" if theirs else "") + (f" ({lp.description})" if lp.description else "")
    if lp.type == "routed":
        prefix = facts.address(lp.pool, lp.id) if lp.pool else None
        addr = host(prefix, 1 if side == "a" else 2) if prefix else None
        ospf = OspfIf(area=lp.area or BACKBONE, cost=lp.cost)
        peer = Peer(host=other.name, interface=theirs or "?")
        if d.hw.kind == "switch":
            vid = int(facts.alloc.transit_vlans[d.name][lp.id])
            vlans.append((vid, f"transit-{other.name}"))
            ifaces.append(Interface(name=mine or "?", kind="access", vlan=vid, description=desc, peer=peer,
                                    link=lp.id))
            ifaces.append(Interface(name=d.hw.vlan_if.format(n=vid), kind="svi", vlan=vid, address=addr,
                                    description=desc, ospf=ospf, peer=peer, link=lp.id))
        else:
            ifaces.append(Interface(name=mine or "?", kind="routed", address=addr, description=desc, ospf=ospf,
                                    peer=peer, link=lp.id))
        areas.add(lp.area or BACKBONE)
    elif lp.type in ("trunk", "access"):
        if d.role == "server":
            return  # the server's side is its routed eth0 (features.servers)
        vlans += [(v, facts.vlan_name(v)) for v in lp.vlans]
        kind = "trunk" if lp.type == "trunk" else "access"
        ifaces.append(Interface(name=mine or "?", kind=kind, description=desc,
                                vlans=list(lp.vlans) if kind == "trunk" else [],
                                vlan=lp.vlans[0] if kind == "access" else None,
                                peer=Peer(host=other.name, interface=theirs or "?"), link=lp.id))
    elif lp.type == "lag":
        n = int(facts.alloc.lags[d.name][lp.id])
        lag = (d.hw.lag_name or d.flavour.interfaces.lag).format(n=n)
        vlans += [(v, facts.vlan_name(v)) for v in lp.vlans]
        ifaces.append(Interface(name=lag, kind="lag", lag_id=n, vlans=list(lp.vlans),
                                description=f"to {other.name} (aggregate)", link=lp.id,
                                peer=Peer(host=other.name, interface="aggregate")))
        for m in range(1, lp.members + 1):
            far = facts.port(other.name, lp.id, m)
            ifaces.append(Interface(name=facts.port(d.name, owner, m), kind="lag_member", lag=lag, lag_id=n,
                                    description=f"to {other.name} {far} ({lag} member)",
                                    peer=Peer(host=other.name, interface=far), link=lp.id))
