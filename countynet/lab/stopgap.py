"""STOP-GAP linux configs, used only for files whose `templates/<feature>/linux.j2` does not exist yet.

The lab must configure devices from the linux rendering of their intent (countynet.render). Until the
generic Linux templates land, this module writes the same files (frr.conf, nftables.conf, swanctl.conf)
from the linuxified intent so the lab can run; `configs.render_linux` reports which files came from here.
Delete this module once templates/{routing,security,vpn}/linux.j2 exist.
"""

from __future__ import annotations

from countynet.intent import DeviceIntent
from countynet.render import secret


def frr_conf(d: DeviceIntent) -> str:
    out = ["frr defaults traditional", f"hostname {d.hostname}", "no ipv6 forwarding", "!"]
    o = d.routing.ospf
    passive: list[str] = []
    for i in d.interfaces:
        if o and i.ospf:
            out.append(f"interface {i.name}")
            out.append(f" ip ospf area {i.ospf.area}")
            if i.kind != "loopback":
                out.append(f" ip ospf network {i.ospf.network_type}")
                out.append(f" ip ospf cost {i.ospf.cost}")
                out.append(f" ip ospf hello-interval {o.hello}")
                out.append(f" ip ospf dead-interval {o.dead}")
            out.append("!")
            if i.ospf.passive:
                passive.append(i.name)
    for n, p in enumerate(o.redistribute_prefixes if o else []):
        out.append(f"ip prefix-list CN-REDIST seq {5 * (n + 1)} permit {p} le 32")
    if o and o.redistribute_prefixes:
        out += ["route-map CN-REDIST permit 10", " match ip address prefix-list CN-REDIST", "!"]
    for r in d.routing.static:
        target = r.next_hop or r.interface or "blackhole"
        out.append(f"ip route {r.prefix} {target}" + (f" {r.distance}" if r.distance else ""))
    out.append("!")
    if o:
        out += ["router ospf", f" ospf router-id {o.router_id}"]
        out += [f" passive-interface {p}" for p in passive]
        for a in o.areas:
            if a.type == "stub":
                out.append(f" area {a.id} stub")
            elif a.type == "totally-stub":
                out.append(f" area {a.id} stub no-summary")
            elif a.type == "nssa":
                out.append(f" area {a.id} nssa")
            out += [f" area {a.id} range {r}" for r in a.ranges]
        if o.default_originate:
            out.append(" default-information originate")
        rm = " route-map CN-REDIST" if o.redistribute_prefixes else ""
        out += [f" redistribute {r}{rm}" for r in o.redistribute]
        out.append("!")
    b = d.routing.bgp
    if b:
        for n, nb in enumerate(b.neighbors):
            for k, p in enumerate(nb.import_prefixes):
                out.append(f"ip prefix-list CN-BGP{n}-IN seq {5 * (k + 1)} permit {p} le 32")
            for k, p in enumerate(nb.export_prefixes):
                out.append(f"ip prefix-list CN-BGP{n}-OUT seq {5 * (k + 1)} permit {p}")
        out += [f"router bgp {b.asn}", f" bgp router-id {b.router_id}", " no bgp ebgp-requires-policy"]
        for nb in b.neighbors:
            out += [f" neighbor {nb.address} remote-as {nb.remote_as}",
                    f" neighbor {nb.address} description {nb.description}"]
            if nb.update_source:
                out.append(f" neighbor {nb.address} update-source {nb.update_source}")
        out.append(" address-family ipv4 unicast")
        out += [f"  network {p}" for p in b.networks]
        for n, nb in enumerate(b.neighbors):
            if nb.import_prefixes:
                out.append(f"  neighbor {nb.address} prefix-list CN-BGP{n}-IN in")
            if nb.export_prefixes:
                out.append(f"  neighbor {nb.address} prefix-list CN-BGP{n}-OUT out")
        out += [" exit-address-family", "!"]
    return "\n".join(out) + "\n"


def _match(field: str, p: str) -> str:
    return "" if p == "0.0.0.0/0" else f"ip {field} {p} "


def nftables_conf(d: DeviceIntent) -> str:
    out = ["#!/usr/sbin/nft -f", "flush ruleset", "table inet countynet {"]
    for f in d.filters:
        out.append(f"  chain acl_{f.name} {{")
        for r in f.rules:
            m = _match("saddr", r.source) + _match("daddr", r.destination)
            if r.protocol in ("tcp", "udp"):
                m += f"meta l4proto {r.protocol} "
                if r.port_min is not None:
                    ports = str(r.port_min) if r.port_max in (None, r.port_min) else f"{r.port_min}-{r.port_max}"
                    m += f"{r.protocol} dport {ports} "
            elif r.protocol == "icmp":
                m += "meta l4proto icmp "
            if r.established:
                m += "ct state established,related "
            verdict = "accept" if r.action == "permit" else "drop"
            out.append(f"    {m}{verdict} comment \"{r.remark or r.seq}\"")
        out.append("  }")
    out += ["  chain forward {", "    type filter hook forward priority 0; policy accept;"]
    for i in d.interfaces:
        if i.acl_in:
            out.append(f"    iifname \"{i.name}\" jump acl_{i.acl_in}")
        if i.acl_out:
            out.append(f"    oifname \"{i.name}\" jump acl_{i.acl_out}")
    out += ["  }", "}"]
    if d.nat:
        n = d.nat
        out += ["table ip countynet_nat {", "  chain prerouting {",
                "    type nat hook prerouting priority dstnat; policy accept;"]
        out += [f"    ip daddr {s.outside} {s.protocol} dport {s.port} dnat to {s.inside}" for s in n.static]
        out += ["  }", "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;"]
        for s in n.static:
            out.append(f"    oifname \"{n.outside_interface}\" ip saddr {s.inside} {s.protocol} sport {s.port} "
                       f"snat to {s.outside}")
        if n.inside_networks:
            nets = ", ".join(n.inside_networks)
            out.append(f"    oifname \"{n.outside_interface}\" ip saddr {{ {nets} }} masquerade")
        out += ["  }", "}"]
    return "\n".join(out) + "\n"


def swanctl_conf(d: DeviceIntent) -> str:
    v = d.vpn
    if not v:
        return ""
    out = ["connections {"]
    for p in v.peers:
        out += [f"  {p.name} {{", f"    version = {v.ike_version}", f"    local_addrs = {p.local_address}",
                f"    remote_addrs = {p.remote_address or '%any'}", f"    proposals = {v.ike_proposal}",
                "    encap = yes", "    dpd_delay = 5s",
                f"    local {{\n      auth = psk\n      id = {p.local_id}\n    }}",
                f"    remote {{\n      auth = psk\n      id = {p.remote_id}\n    }}",
                "    children {", "      net {",
                f"        local_ts = {', '.join(p.local_networks)}",
                f"        remote_ts = {', '.join(p.remote_networks)}",
                f"        esp_proposals = {v.esp_proposal}",
                f"        start_action = {'start' if v.role == 'spoke' else 'none'}",
                "        dpd_action = restart", "      }", "    }", "  }"]
    out += ["}", "secrets {"]
    for p in v.peers:
        out += [f"  ike-{p.name} {{", f"    id-1 = {p.local_id}", f"    id-2 = {p.remote_id}",
                f"    secret = \"{secret(p.psk_secret)}\"", "  }"]
    out.append("}")
    return "\n".join(out) + "\n"


STOPGAP = {"etc/frr/frr.conf": frr_conf, "etc/nftables.conf": nftables_conf,
           "etc/swanctl/swanctl.conf": swanctl_conf}
