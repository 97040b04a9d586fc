"""Intents for the Cisco/Linux template tests: a synthetic device using every intent feature, and the
port renaming the lab applies before it renders a non-Linux device with the Linux templates."""

from __future__ import annotations

from countynet.intent.models import (
    AclRule,
    Bgp,
    BgpNeighbor,
    DeviceIntent,
    DhcpPool,
    Filter,
    Interface,
    Nat,
    Ospf,
    OspfArea,
    OspfIf,
    Peer,
    Routing,
    StaticNat,
    StaticRoute,
    Tunnel,
    Vlan,
    Vpn,
    VpnPeer,
    Vrrp,
)

NAMES = {
    "cisco_ios": {"lo": "Loopback0", "eth": "GigabitEthernet0/0/{n}", "svi": "Vlan{n}", "lag": "Port-channel{n}",
                  "tun": "Tunnel{n}"},
    "linux": {"lo": "lo", "eth": "eth{n}", "svi": "br{n}", "lag": "bond{n}", "tun": "vti{n}"},
}


def feature_intent(base: DeviceIntent, platform: str) -> DeviceIntent:
    """Every intent feature on one device (names in the platform's style); management comes from `base`."""
    n = NAMES[platform]
    eth = [n["eth"].format(n=k) for k in range(8)]
    lo, svi10, svi20, lag, tun = n["lo"], n["svi"].format(n=10), n["svi"].format(n=20), n["lag"].format(n=1), \
        n["tun"].format(n=1)
    p2p = OspfIf(area="0.0.0.0", cost=20)
    rules = [
        AclRule(seq=10, action="permit", protocol="tcp", source="10.30.18.0/24", destination="10.30.17.12/32",
                port_min=22, port_max=22, remark="management to servers"),
        AclRule(seq=20, action="permit", protocol="udp", source="0.0.0.0/0", destination="10.30.16.0/24",
                port_min=5000, port_max=5010),
        AclRule(seq=30, action="permit", protocol="tcp", source="0.0.0.0/0", destination="10.30.40.0/24",
                established=True),
        AclRule(seq=40, action="permit", protocol="icmp", source="10.0.0.0/8", destination="0.0.0.0/0"),
        AclRule(seq=50, action="deny", protocol="ip", source="0.0.0.0/0", destination="0.0.0.0/0"),
    ]
    interfaces = [
        Interface(name=lo, kind="loopback", address="10.30.0.200/32", ospf=OspfIf(area="0.0.0.0", passive=True)),
        Interface(name=eth[0], kind="routed", address="10.30.4.1/30", description="to core", ospf=p2p,
                  peer=Peer(host="x", interface="y"), acl_in="from-core"),
        Interface(name=eth[1], kind="routed", address="10.30.4.5/30", ospf=OspfIf(area="0.0.0.11"),
                  acl_out="to-township"),
        Interface(name=eth[2], kind="routed", address="203.0.113.2/29", nat_outside=True, zone="internet"),
        Interface(name=eth[3], kind="lag_member", lag=lag, lag_id=1),
        Interface(name=eth[4], kind="lag_member", lag=lag, lag_id=1),
        Interface(name=lag, kind="lag", lag_id=1, vlans=[10, 20]),
        Interface(name=eth[5], kind="access", vlan=10, description="office"),
        Interface(name=eth[6], kind="trunk", vlans=[10, 30]),
        Interface(name=svi10, kind="svi", vlan=10, address="10.30.40.2/24", dhcp_relay=["10.30.17.30"],
                  vrrp=Vrrp(group=10, vip="10.30.40.1", priority=120),
                  ospf=OspfIf(area="0.0.0.0", passive=True, network_type="broadcast")),
        Interface(name=svi20, kind="svi", vlan=20, address="10.30.41.1/26",
                  ospf=OspfIf(area="0.0.0.0", passive=True, network_type="broadcast")),
        Interface(name=eth[7], kind="routed", address="100.64.0.2/30", zone="internet"),
        Interface(name=tun, kind="tunnel", address="10.30.8.2/30",
                  tunnel=Tunnel(source=eth[7], source_address="100.64.0.2", destination="203.0.113.10",
                                vpn_peer="yx-vpnhub-1")),
    ]
    return base.model_copy(update=dict(
        hostname="yx-feature-1", fqdn="yx-feature-1.yx.egov.local", platform=platform, loopback="10.30.0.200/32",
        interfaces=interfaces, vlans=[Vlan(id=10, name="office"), Vlan(id=20, name="stations"),
                                      Vlan(id=30, name="transit")],
        routing=Routing(
            ospf=Ospf(process=1, router_id="10.30.0.200", hello=1, dead=4, default_originate=True,
                      areas=[OspfArea(id="0.0.0.0"), OspfArea(id="0.0.0.11", type="totally-stub",
                                                                ranges=["10.30.128.0/20"]),
                             OspfArea(id="0.0.0.12", type="nssa"), OspfArea(id="0.0.0.13", type="stub")],
                      redistribute=["static", "bgp"], redistribute_prefixes=["10.36.0.0/16", "10.30.129.64/28"]),
            static=[StaticRoute(prefix="0.0.0.0/0", next_hop="203.0.113.1", description="default (ISP)"),
                    StaticRoute(prefix="10.30.0.0/16", interface="null", description="aggregate for BGP"),
                    StaticRoute(prefix="10.30.129.64/28", next_hop="10.30.4.6", distance=200),
                    StaticRoute(prefix="10.31.0.0/16", interface=tun, description="county via IPsec")],
            bgp=Bgp(asn=65030, router_id="10.30.0.200", networks=["10.30.0.0/16"], neighbors=[
                BgpNeighbor(address="10.36.255.1", remote_as=65036, description="jian-egov",
                            import_prefixes=["10.36.0.0/16"], export_prefixes=["10.30.0.0/16"]),
                BgpNeighbor(address="10.30.0.201", remote_as=65030, description="ibgp", update_source=lo)])),
        vpn=Vpn(role="spoke", ike_version=2, ike_proposal="aes256-sha256-modp2048",
                esp_proposal="aes128-sha1-modp1536", peers=[VpnPeer(
                    name="yx-vpnhub-1", local_address="100.64.0.2", remote_address="203.0.113.10",
                    local_id="yx-feature-1.yx.egov.local", remote_id="yx-vpnhub-1.yx.egov.local",
                    psk_secret="vpn-psk-feature", tunnel_interface=tun, local_networks=["10.30.41.0/26"],
                    remote_networks=["10.30.0.0/16"])]),
        dhcp=[DhcpPool(name="stations", interface=svi20, network="10.30.41.0/26", gateway="10.30.41.1",
                       range_start="10.30.41.11", range_end="10.30.41.50", dns=["10.30.16.10", "10.30.16.11"],
                       lease_days=3)],
        nat=Nat(outside_interface=eth[2], inside_networks=["10.30.16.0/24", "10.30.40.0/24"],
                static=[StaticNat(name="portal-https", inside="10.30.16.12", outside="203.0.113.4",
                                  protocol="tcp", port=443)]),
        filters=[Filter(name="from-core", number=3001, rules=rules),
                 Filter(name="to-township", number=3002, rules=rules[:2] + rules[4:])],
    ))


def linuxify(d: DeviceIntent) -> DeviceIntent:
    """What the lab does before rendering a non-Linux device with the Linux templates: ports become
    eth<N>, loopbacks lo, SVIs br<vlan>, aggregates bond<n>, tunnels vti<n> (references follow)."""
    names: dict[str, str] = {}
    k = 0
    for i in d.interfaces:
        if i.kind == "loopback":
            names[i.name] = "lo"
        elif i.kind == "svi":
            names[i.name] = f"br{i.vlan}"
        elif i.kind == "lag":
            names[i.name] = f"bond{i.lag_id}"
        elif i.kind == "tunnel":
            names[i.name] = f"vti{len([n for n in names.values() if n.startswith('vti')]) + 1}"
        else:
            names[i.name] = f"eth{k}"
            k += 1

    def rn(name: str | None) -> str | None:
        return names.get(name, name) if name is not None else None

    ifs = [i.model_copy(update={"name": names[i.name], "lag": rn(i.lag),
                                "tunnel": i.tunnel.model_copy(update={"source": rn(i.tunnel.source)})
                                if i.tunnel else None}) for i in d.interfaces]
    routing = d.routing.model_copy(update={"static": [r.model_copy(update={"interface": rn(r.interface)})
                                                      for r in d.routing.static]})
    if d.routing.bgp:
        routing.bgp = d.routing.bgp.model_copy(update={"neighbors": [
            n.model_copy(update={"update_source": rn(n.update_source)}) for n in d.routing.bgp.neighbors]})
    update: dict = {"platform": "linux", "interfaces": ifs, "routing": routing,
                    "dhcp": [p.model_copy(update={"interface": rn(p.interface)}) for p in d.dhcp],
                    "management": d.management.model_copy(
                        update={"source_interface": rn(d.management.source_interface)})}
    if d.nat:
        update["nat"] = d.nat.model_copy(update={"outside_interface": rn(d.nat.outside_interface)})
    if d.vpn:
        update["vpn"] = d.vpn.model_copy(update={"peers": [p.model_copy(
            update={"tunnel_interface": rn(p.tunnel_interface)}) for p in d.vpn.peers]})
    return d.model_copy(update=update)


def golden_diff(platform: str, host: str, files: dict[str, str]) -> str:
    """'' when `files` equal the golden directory of `host`; otherwise unified diffs and a hint."""
    import difflib

    from tests.update_golden_cisco_linux import UPDATE_HINT, host_dir

    base = host_dir(platform, host)
    golden = {str(p.relative_to(base)): p.read_text(encoding="utf-8")
              for p in sorted(base.rglob("*")) if p.is_file()} if base.is_dir() else {}
    out = []
    for name in sorted(set(golden) | set(files)):
        old, new = golden.get(name), files.get(name)
        if old == new:
            continue
        if old is None:
            out.append(f"{platform}/{host}/{name}: rendered but has no golden file")
        elif new is None:
            out.append(f"{platform}/{host}/{name}: golden file exists but the device no longer renders it")
        else:
            out.append("".join(difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True),
                fromfile=f"golden/{platform}/{host}/{name}", tofile=f"rendered/{host}/{name}")))
    return "\n".join([*out, UPDATE_HINT]) if out else ""


def block(text: str, header: str) -> list[str]:
    """Lines of the IOS block that starts with `header` (up to the next '!' or top-level line)."""
    lines = text.splitlines()
    start = lines.index(header)
    out = []
    for line in lines[start + 1:]:
        if line == "!" or not line.startswith(" "):
            break
        out.append(line)
    return out
