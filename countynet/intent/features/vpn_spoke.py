"""A village on broadband: its ISP port and default, the IPsec tunnel to the hub and the county behind it.
Route-based like the hub: whatever is routed into the tunnel is protected (selectors 0.0.0.0/0 on the wire);
the peer's local/remote networks name what each end routes into it (the lab's policy-based emulation uses them)."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.features.vpn_hub import village_networks
from countynet.intent.models import Interface, StaticRoute, Tunnel, Vpn, VpnPeer
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import host, ip
from countynet.topology.ranges import expand_ports


def vpn_spoke(dev: DevicePlan, facts: Facts) -> Part:
    """The broadband port, the tunnel (the flavour names it), the routes into it and the spoke's IPsec peer."""
    v = facts.vpn_village.get(dev.name)
    if v is None or facts.hub is None or facts.hub_uplink is None:
        return NOTHING
    hub, hub_addr = facts.hub, ip(facts.hub_uplink.address)
    wan = expand_ports(dev.hw.ports["wan"])[0]
    public = ip(host(v.broadband, 2))
    tname = dev.flavour.interfaces.tunnel.format(n=1)
    county = [str(n) for n in facts.aggregates]
    cfg = facts.topo.county.vpn
    return Part(
        interfaces=(
            Interface(name=wan, kind="routed", address=host(v.broadband, 2), zone=facts.zone_of_kind("internet"),
                      description="broadband (ISP)", link=f"broadband:{v.key}"),
            Interface(name=tname, kind="tunnel", address=host(v.tunnel, 2), zone=None, description=f"IPsec to {hub}",
                      tunnel=Tunnel(source=wan, source_address=public, destination=hub_addr, vpn_peer=hub)),
        ),
        static=(StaticRoute(prefix="0.0.0.0/0", next_hop=ip(host(v.broadband, 1)),
                            description="default to the broadband ISP"),
                *(StaticRoute(prefix=agg, interface=tname, description="county network via IPsec") for agg in county)),
        vpn=Vpn(role="spoke", ike_version=cfg.ike_version, ike_proposal=cfg.ike_proposal,
                esp_proposal=cfg.esp_proposal,
                peers=[VpnPeer(name=hub, local_address=public, remote_address=hub_addr,
                               local_id=f"{dev.name}.{facts.domain}", remote_id=f"{hub}.{facts.domain}",
                               psk_secret=v.psk_secret, tunnel_interface=tname,
                               local_networks=village_networks(v.local_networks, v.tunnel), remote_networks=county)]))
