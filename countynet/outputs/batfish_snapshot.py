"""The Batfish snapshot, written by `countynet build` into `build/batfish/`.

Batfish parses Cisco IOS but not Huawei VRP or H3C Comware (it would half-parse them as IOS), so every
non-Cisco network device gets a *verification rendering*: the same per-device intent rendered with the
Cisco IOS templates after mapping interface names. Each such file says so in its header, and the report
repeats it. Linux servers become host JSON + iptables files (their host firewall). Layer-1 edges come from
the intent's peers and are validated here, because Batfish silently ignores a bad layer-1 file.
The VPN hub (route-based on Linux: one XFRM interface per village) is rendered as IOS tunnel interfaces for
Batfish, one per village, since Batfish models IOS VTIs, not XFRM interfaces.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from typing import Any

from countynet import platforms
from countynet.errors import Diagnostic
from countynet.intent.models import DeviceIntent, Interface, Tunnel

HEADER_NATIVE = "!BATFISH_FORMAT: cisco_ios\n! countynet: native Cisco IOS configuration of {host}\n"
HEADER_VERIFY = ("!BATFISH_FORMAT: cisco_ios\n"
                 "! countynet VERIFICATION RENDERING of {host} ({platform} {os}): the same intent rendered as\n"
                 "! Cisco IOS so that Batfish can model it. It is NOT the configuration pushed to the device.\n")


@functools.cache
def _renames(flavour: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(p), r) for p, r in platforms.flavour(flavour).batfish.rename)


def cisco_name(name: str, flavour: str) -> str:
    """`name` as the Cisco verification rendering calls it, by the renames of `flavour` in the platform registry
    (`batfish.rename`). Unmatched: unchanged."""
    for pat, repl in _renames(flavour):
        if pat.match(name):
            return pat.sub(repl, name)
    return name


def ciscoify(d: DeviceIntent) -> DeviceIntent:
    """The intent with Cisco interface names and platform, for a verification rendering."""
    data = d.model_dump()
    fl = d.flavour
    for i in data["interfaces"]:
        i["name"] = cisco_name(i["name"], fl)
        if i.get("lag"):
            i["lag"] = cisco_name(i["lag"], fl)
        if i.get("tunnel"):
            i["tunnel"]["source"] = cisco_name(i["tunnel"]["source"], fl)
    for r in data["routing"]["static"]:
        if r.get("interface") and r["interface"] != "null":
            r["interface"] = cisco_name(r["interface"], fl)
    for p in data["dhcp"]:
        p["interface"] = cisco_name(p["interface"], fl)
    if data.get("nat"):
        data["nat"]["outside_interface"] = cisco_name(data["nat"]["outside_interface"], fl)
    if data.get("vpn"):
        for p in data["vpn"]["peers"]:
            if p.get("tunnel_interface"):
                p["tunnel_interface"] = cisco_name(p["tunnel_interface"], fl)
    data["management"]["source_interface"] = cisco_name(data["management"]["source_interface"], fl)
    target = platforms.batfish_target()
    data["platform"], data["os"], data["flavour"] = target.family, target.os, target.name
    data["server"] = None
    out = DeviceIntent.model_validate(data)
    if out.vpn and out.vpn.role == "hub":
        out = _route_based_hub(out)
    return out


def _route_based_hub(hub: DeviceIntent) -> DeviceIntent:
    """One tunnel interface per village for Batfish (which models only route-based IPsec)."""
    assert hub.vpn is not None
    outside = next(i for i in hub.interfaces if i.zone and i.address and i.kind == "routed" and i.link
                   and i.link.startswith("uplink:"))
    tunnels: list[Interface] = []
    peers = []
    for n, p in enumerate(hub.vpn.peers, start=1):
        tname = f"Tunnel{n}"
        remote = p.remote_address or _SPOKE_ADDR.get(p.name, "")
        tun_addr = _SPOKE_TUN.get(p.name)
        address = None
        if tun_addr:
            net = ipaddress.IPv4Interface(tun_addr).network
            address = f"{net.network_address + 1}/{net.prefixlen}"
        tunnels.append(Interface(name=tname, kind="tunnel", address=address, description=f"IPsec to {p.name}",
                                 acl_in=outside.acl_in,  # the hub filters what arrives decrypted (nftables)
                                 tunnel=Tunnel(source=outside.name, source_address=p.local_address,
                                               destination=remote, vpn_peer=p.name)))
        peers.append(p.model_copy(update={"tunnel_interface": tname, "remote_address": remote}))
    statics = [s.model_copy(update={"next_hop": None, "interface": next(
        (t.name for t, p in zip(tunnels, peers, strict=True) if s.prefix in p.remote_networks), None)})
        if any(s.prefix in p.remote_networks for p in peers) else s for s in hub.routing.static]
    return hub.model_copy(update={
        "interfaces": [*(i for i in hub.interfaces if i.kind != "tunnel"), *tunnels],  # xfrm<N> -> Tunnel<N>
        "vpn": hub.vpn.model_copy(update={"role": "spoke", "peers": peers}),
        "routing": hub.routing.model_copy(update={"static": statics}),
    })


_SPOKE_ADDR: dict[str, str] = {}
_SPOKE_TUN: dict[str, str] = {}


def _learn_spokes(intents: dict[str, DeviceIntent]) -> None:
    _SPOKE_ADDR.clear()
    _SPOKE_TUN.clear()
    for h, d in intents.items():
        if d.vpn and d.vpn.role == "spoke":
            _SPOKE_ADDR[h] = d.vpn.peers[0].local_address
            t = next((i for i in d.interfaces if i.kind == "tunnel" and i.address), None)
            if t and t.address:
                _SPOKE_TUN[h] = t.address


def host_json(d: DeviceIntent) -> dict[str, Any]:
    ifaces = {}
    gw = d.server.gateway if d.server else None
    for i in d.interfaces:
        if i.address and i.kind != "loopback":
            entry: dict[str, Any] = {"name": i.name, "prefix": i.address}
            if gw:
                entry["gateway"] = gw
            ifaces[i.name] = entry
    return {"hostname": d.hostname, "iptablesFile": f"iptables/{d.hostname}.iptables", "hostInterfaces": ifaces}


def host_iptables(d: DeviceIntent) -> str:
    """The server's host firewall as iptables-save text (Batfish honours filter INPUT/OUTPUT)."""
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
             "-A INPUT -i lo -j ACCEPT", "-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT"]
    for src in d.management.allowed_sources:
        lines.append(f"-A INPUT -s {src} -p tcp --dport 22 -j ACCEPT")
        lines.append(f"-A INPUT -s {src} -p icmp -j ACCEPT")
        lines.append(f"-A INPUT -s {src} -p udp --dport 161 -j ACCEPT")
    for s in d.server.services if d.server else []:
        if s.protocol == "icmp":
            lines.append("-A INPUT -p icmp -j ACCEPT")
        else:
            ports = str(s.port_min) if s.port_min == s.port_max else f"{s.port_min}:{s.port_max}"
            lines.append(f"-A INPUT -p {s.protocol} --dport {ports} -j ACCEPT")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


PHYSICAL = {"routed", "access", "trunk", "lag_member"}


def layer1(intents: dict[str, DeviceIntent]) -> tuple[dict[str, Any], list[Diagnostic]]:
    """Layer-1 edges from the intent's peers, each physical link once, validated both ways."""
    edges = []
    problems: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()
    used: dict[tuple[str, str], tuple[str, str]] = {}
    for h, d in sorted(intents.items()):
        for i in d.interfaces:
            if i.kind not in PHYSICAL or i.peer is None:
                continue
            peer = intents.get(i.peer.host)
            if peer is None:
                continue  # outside the build (e.g. a server's switch in another scope)
            mine, theirs = (h, i.name), (i.peer.host, i.peer.interface)
            back = next((x for x in peer.interfaces if x.name == i.peer.interface), None)
            if back is None or back.peer is None or (back.peer.host, back.peer.interface) != mine:
                problems.append(Diagnostic("build/batfish/batfish/layer1_topology.json", 0, 0, f"{h} {i.name}",
                                           f"peer {theirs[0]} {theirs[1]} does not point back",
                                           "a bug in link wiring; report it"))
                continue
            for end in (mine, theirs):
                if end in used and used[end] not in (mine, theirs):
                    problems.append(Diagnostic("build/batfish/batfish/layer1_topology.json", 0, 0,
                                               f"{end[0]} {end[1]}", "interface is cabled twice",
                                               "a bug in port allocation; report it"))
            used[mine], used[theirs] = theirs, mine
            key = (f"{h}|{i.name}", f"{theirs[0]}|{theirs[1]}")
            if tuple(sorted(key)) in seen:
                continue
            seen.add(tuple(sorted(key)))  # type: ignore[arg-type]
            edges.append({"node1": {"hostname": h.lower(), "interfaceName": cisco_name(i.name, d.flavour)},
                          "node2": {"hostname": theirs[0].lower(),
                                    "interfaceName": cisco_name(theirs[1], peer.flavour)}})
    return {"edges": edges}, problems


def isp_config(intents: dict[str, DeviceIntent]) -> dict[str, Any]:
    border = [{"borderInterface": {"hostname": h.lower(), "interface": cisco_name(i.name, d.flavour)}}
              for h, d in sorted(intents.items()) if d.role == "firewall"
              for i in d.interfaces if i.nat_outside]
    return {"borderInterfaces": border, "filter": {"onlyRemoteAsns": [], "onlyRemoteIps": []}}


def snapshot_files(intents: dict[str, DeviceIntent], configs: dict[str, dict[str, str]]
                   ) -> tuple[dict[str, str], list[Diagnostic]]:
    """Every file of build/batfish/ (relative paths), and any layer-1 problems found."""
    from countynet.render.engine import render_device

    _learn_spokes(intents)
    out: dict[str, str] = {}
    for h, d in sorted(intents.items()):
        if d.role == "server":
            out[f"batfish/hosts/{h}.json"] = json.dumps(host_json(d), indent=1) + "\n"
            out[f"batfish/iptables/{h}.iptables"] = host_iptables(d)
        elif platforms.flavour(d.flavour).batfish.native:
            text = configs.get(h, {}).get(f"{h}.cfg", "")
            out[f"batfish/configs/{h}.cfg"] = HEADER_NATIVE.format(host=h) + text
        else:
            text = render_device(ciscoify(d))[f"{h}.cfg"]
            out[f"batfish/configs/{h}.cfg"] = HEADER_VERIFY.format(host=h, platform=d.platform, os=d.os) + text
    topo, problems = layer1(intents)
    out["batfish/batfish/layer1_topology.json"] = json.dumps(topo, indent=1) + "\n"
    out["batfish/batfish/isp_config.json"] = json.dumps(isp_config(intents), indent=1) + "\n"
    return out, problems
