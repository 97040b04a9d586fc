"""The IPsec hub, route-based: one XFRM interface per VPN village (strongSwan `if_id_in/if_id_out`, selectors
0.0.0.0/0 on both sides, as the villages' route-based Huawei/H3C tunnels propose), and routes to each village's
networks (LAN, loopback, tunnel subnet) into that village's interface. Spokes dial in from any address."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Interface, StaticRoute, Vpn, VpnPeer
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import ip

XFRM_NAME = "xfrm{n}"  # Linux interface names are at most 15 characters; n = the XFRM if_id (1, 2, ...)


def village_networks(v_local: tuple[str, ...], tunnel: str) -> list[str]:
    """What the hub routes into a village's tunnel (and what the village may send into it): its LAN and
    loopback, and the tunnel subnet (the village router's own tunnel address sources traffic too)."""
    return [*v_local, tunnel]


def vpn_hub(dev: DevicePlan, facts: Facts) -> Part:
    """The hub's VPN (its peers read from the county facts, in township and village order), one XFRM tunnel
    interface per village (if_id = its position, 1-based) and the routes into it."""
    if dev.role != "vpn_hub":
        return NOTHING
    cfg = facts.topo.county.vpn
    up = facts.hub_uplink
    county = [str(n) for n in facts.aggregates]
    peers, static, tunnels = [], [], []
    if up is not None and facts.hub == dev.name:  # villages dial the first hub
        for n, v in enumerate(facts.vpn_villages, start=1):
            tname = XFRM_NAME.format(n=n)
            nets = village_networks(v.local_networks, v.tunnel)
            tunnels.append(Interface(name=tname, kind="tunnel", zone=None,
                                     description=f"IPsec to {v.device} (XFRM if_id {n})"))
            peers.append(VpnPeer(name=v.device, local_address=ip(up.address), remote_address=None,
                                 local_id=f"{dev.name}.{facts.domain}", remote_id=f"{v.device}.{facts.domain}",
                                 psk_secret=v.psk_secret, tunnel_interface=tname, local_networks=county,
                                 remote_networks=nets))
            static += [StaticRoute(prefix=net, interface=tname, description=f"{v.device} via IPsec ({tname})")
                       for net in nets]
    return Part(interfaces=tuple(tunnels), static=tuple(static),
                vpn=Vpn(role="hub", ike_version=cfg.ike_version, ike_proposal=cfg.ike_proposal,
                        esp_proposal=cfg.esp_proposal, peers=peers))
