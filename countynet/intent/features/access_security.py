"""Access-layer protection on the switches that face hosts (issue 10 part 6, docs/security.md "Access layer").

Township switches (the township LAN gateway and DHCP server) and the centre's access switches. Host-facing ports
are the STP edge ports (access ports outside a transit VLAN whose peer is not a switch); every other switched
port is an uplink. A flavour without the command forms (no `dhcp_snooping` in its `commands`) gets none.
"""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import AccessSecurity
from countynet.intent.parts import Layout
from countynet.intent.plan import DevicePlan
from countynet.topology.ranges import expand_ports

ROLES = ("township_switch", "access_switch")
MAX_MACS = 4  # a PC, an IP phone behind it, a printer: more on one port is a hub or a rogue switch


def access_security(dev: DevicePlan, facts: Facts, layout: Layout) -> AccessSecurity | None:
    """The access-layer section of a host-facing switch, or None (other roles, flavours without the forms,
    a switch with no host port).

    IP source guard only on the VLAN interfaces this switch serves with its own DHCP pools, and only where the
    flavour's source guard binds from the DHCP server (`source_guard_svi`): those hosts hold leases; a static
    address has none and would be dropped."""
    if dev.role not in ROLES or not dev.flavour.commands.get("dhcp_snooping"):
        return None
    vl = facts.topo.county.vlans
    hosts, uplinks = [], []
    for i in layout.interfaces:
        if i.kind not in ("access", "trunk", "lag"):
            continue
        transit = i.vlan is not None and vl.transit_first <= i.vlan <= vl.transit_last
        peer = facts.devices.get(i.peer.host) if i.peer else None
        if i.kind == "access" and not transit and not (peer is not None and peer.hw.kind == "switch"):
            hosts.append(i)
        else:
            uplinks.append(i.name)
    if not hosts:
        return None
    served = [i.name for i in layout.interfaces if i.kind == "svi" and any(p.interface == i.name for p in layout.dhcp)]
    used = {i.name for i in layout.interfaces} | {i.lag for i in layout.interfaces if i.lag}
    unused = [p for p in expand_ports(port for group in dev.hw.ports.values() for port in group) if p not in used]
    return AccessSecurity(trusted_ports=uplinks, untrusted_ports=[i.name for i in hosts],
                          source_guard_interfaces=served if dev.flavour.commands.get("source_guard_svi") else [],
                          max_macs=MAX_MACS,
                          unused_ports=unused)
