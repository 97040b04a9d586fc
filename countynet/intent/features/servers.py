"""Servers in the machine room: their network port, default route and the services they offer."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Interface, Peer, Server, ServiceIntent, StaticRoute
from countynet.intent.parts import NOTHING, Part
from countynet.intent.plan import DevicePlan
from countynet.ipam.addr import host, ip, prefixlen
from countynet.topology.policy_models import Service, parse_port
from countynet.topology.ranges import expand_ports


def server_port(dev: DevicePlan, facts: Facts) -> Part:
    """A server's routed port in its zone, cabled to its access switch, and its default route."""
    if dev.role != "server":
        return NOTHING
    s = facts.servers[dev.name]
    pfx = facts.address("centre_zone", s.zone)
    link = f"{s.name}--{s.switch}"
    sw_port = facts.port(s.switch, link)
    return Part(
        interfaces=(Interface(name=expand_ports(dev.hw.ports["lan"])[0], kind="routed",
                              address=f"{ip(facts.address('zone_host', s.name))}/{prefixlen(pfx)}",
                              zone=facts.zones[s.zone].security_zone, description=f"to {s.switch} {sw_port}",
                              peer=Peer(host=s.switch, interface=sw_port), link=link),),
        static=(StaticRoute(prefix="0.0.0.0/0", next_hop=ip(host(pfx, 1)),
                            description=f"default to the {s.zone} VRRP gateway"),))


def server(dev: DevicePlan, facts: Facts) -> Server | None:
    """What a server offers (its services' ports from the policy) and where it sits."""
    if dev.role != "server":
        return None
    t = facts.topo
    s = facts.servers[dev.name]
    return Server(function=s.function, zone=facts.zones[s.zone].security_zone,
                  gateway=ip(host(facts.address("centre_zone", s.zone), 1)),
                  services=[ServiceIntent(name=svc, protocol=proto, port_min=lo, port_max=hi,
                                          **_icmp(t.policy.services[svc]) if proto == "icmp" else {})
                            for svc in s.services for proto, lo, hi in map(parse_port, t.policy.services[svc].ports)])


def _icmp(service: Service) -> dict[str, int | None]:
    """The ICMP type and code a service grants, as ServiceIntent fields."""
    itype, icode = service.icmp()
    return {"icmp_type": itype, "icmp_code": icode}
