"""The IPsec hub: one peer per VPN village (any address: spokes dial in from broadband), and routes to each
village's networks through the ISP (policy-based IPsec takes them into the tunnel)."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import StaticRoute, Vpn, VpnPeer
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import ip


def vpn_hub(dev: DevicePlan, facts: Facts) -> Part:
    """The hub's VPN (its peers read from the county facts, in township and village order) and its routes."""
    if dev.role != "vpn_hub":
        return NOTHING
    cfg = facts.topo.county.vpn
    up = facts.hub_uplink
    county = [str(n) for n in facts.aggregates]
    peers, static = [], []
    if up is not None and facts.hub == dev.name:  # villages dial the first hub
        for v in facts.vpn_villages:
            peers.append(VpnPeer(name=v.device, local_address=ip(up.address), remote_address=None,
                                 local_id=f"{dev.name}.{facts.domain}", remote_id=f"{v.device}.{facts.domain}",
                                 psk_secret=v.psk_secret, tunnel_interface=None, local_networks=county,
                                 remote_networks=list(v.local_networks)))
            static += [StaticRoute(prefix=net, next_hop=up.peer, description=f"{v.device} via IPsec (policy-based)")
                       for net in v.local_networks]
    return Part(static=tuple(static), vpn=Vpn(role="hub", ike_version=cfg.ike_version, ike_proposal=cfg.ike_proposal,
                                              esp_proposal=cfg.esp_proposal, peers=peers))
