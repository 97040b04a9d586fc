"""References between files: link ends, servers' zones and switches, uplinks, management servers, the
devices townships and units attach to, and the roles a centre cannot do without."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from countynet.errors import Diagnostic
from countynet.suggest import hint_choices

if TYPE_CHECKING:
    from countynet.topology.validated import Topology


def check(t: Topology) -> Iterator[Diagnostic]:
    """Every name used across files exists, with the role it is used for."""
    yield from _centre(t)
    yield from _management(t)
    yield from _attachments(t)


def _centre(t: Topology) -> Iterator[Diagnostic]:
    c = t.centre
    hw, kits = t.catalog.hardware, t.catalog.kits
    zones = {z.name: z for z in c.zones}
    devices = {d.name: d for d in c.devices}
    for i, z in enumerate(c.zones):
        if z.security_zone not in t.policy.zones:
            yield t.diag("centre", ["zones", i, "security_zone"], f"unknown security zone {z.security_zone!r}",
                         hint_choices(z.security_zone, t.policy.zones))
    for i, s in enumerate(c.servers):
        if s.zone not in zones:
            yield t.diag("centre", ["servers", i, "zone"], f"unknown zone {s.zone!r}", hint_choices(s.zone, zones))
        sw = devices.get(s.switch)
        if sw is None or sw.role != "access_switch":
            yield t.diag("centre", ["servers", i, "switch"], f"{s.switch!r} is not an access switch",
                         hint_choices(s.switch, [d for d, v in devices.items() if v.role == "access_switch"]))
        for j, svc in enumerate(s.services):
            if svc not in t.policy.services:
                yield t.diag("centre", ["servers", i, "services", j], f"unknown service {svc!r}",
                             hint_choices(svc, t.policy.services))
    for i, link in enumerate(c.links):
        for end in ("a", "b"):
            dev, _, port = getattr(link, end).partition(":")
            if dev not in devices:
                yield t.diag("centre", ["links", i, end], f"link end {dev!r} is not a centre device",
                             hint_choices(dev, devices))
                continue
            model = hw.get(kits[devices[dev].kit].hardware) if devices[dev].kit in kits else None
            if model and port and port not in model.ports and "/" not in port and not port[-1:].isdigit():
                yield t.diag("centre", ["links", i, end], f"{kits[devices[dev].kit].hardware} has no port "
                             f"group {port!r}", hint_choices(port, model.ports))
        if link.a.partition(":")[0] == link.b.partition(":")[0]:
            yield t.diag("centre", ["links", i], "a link cannot join a device to itself", "fix one end")
        for j, v in enumerate(link.vlans):
            if v not in zones:
                yield t.diag("centre", ["links", i, "vlans", j], f"unknown zone {v!r}", hint_choices(v, zones))
    for i, up in enumerate(c.uplinks):
        want = {"internet": {"firewall", "vpn_hub"}, "city": {"city_edge"}}[up.kind]
        dev = up.device.partition(":")[0]
        found = devices.get(dev)
        if found is None or found.role not in want:
            yield t.diag("centre", ["uplinks", i, "device"],
                         f"{dev!r} is not a {' or '.join(sorted(want))} device",
                         hint_choices(dev, [n for n, v in devices.items() if v.role in want]))
    if "management" not in zones:
        yield t.diag("centre", ["zones"], "there is no zone named 'management'",
                     "add a management zone (等保 level 3 asks a dedicated management zone)")
    for dev in c.devices:
        if dev.role == "city_edge" and not any(up.kind == "city" and up.device.partition(":")[0] == dev.name
                                               for up in c.uplinks):
            yield t.diag("centre", ["uplinks"], f"the city edge {dev.name} has no city uplink",
                         "add an uplink of kind city (address, peer, peer_asn) on this device")
        if dev.role == "firewall" and not any(up.kind == "internet" and up.device.partition(":")[0] == dev.name
                                              for up in c.uplinks):
            yield t.diag("centre", ["uplinks"], f"the firewall {dev.name} has no internet uplink",
                         "add an uplink of kind internet on this device")
    hubs = [d for d in c.devices if d.role == "vpn_hub"]
    if hubs and not any(up.device.partition(":")[0] == hubs[0].name and up.kind == "internet"
                        for up in c.uplinks):
        yield t.diag("centre", ["uplinks"], f"the VPN hub {hubs[0].name} has no internet uplink",
                     "add an uplink of kind internet on the hub: villages dial its public address")
    roles = {d.role for d in c.devices}
    for r in ("core", "wan", "firewall"):
        if r not in roles:
            yield t.diag("centre", ["devices"], f"no {r} device in the centre", f"add a device with role {r}")


def _management(t: Topology) -> Iterator[Diagnostic]:
    servers = {s.name: s for s in t.centre.servers}
    m = t.county.management
    for field in ("ntp_servers", "syslog_servers", "snmp_managers", "aaa_servers", "jump_hosts"):
        for j, name in enumerate(getattr(m, field)):
            if name not in servers:
                yield t.diag("county", ["management", field, j], f"{name!r} is not a server in centre.yaml",
                             hint_choices(name, servers))
            elif servers[name].zone != "management":
                yield t.diag("county", ["management", field, j],
                             f"{name!r} sits in zone {servers[name].zone!r}, not in the management zone",
                             "management services must live in the management zone")


def _attachments(t: Topology) -> Iterator[Diagnostic]:
    devices = {d.name: d for d in t.centre.devices}
    wans = [n for n, v in devices.items() if v.role == "wan"]

    def attach_ok(key: str, path: list[Any], name: str) -> Iterator[Diagnostic]:
        d = devices.get(name)
        if d is None or d.role != "wan":
            yield t.diag(key, path, f"{name!r} is not a centre wan device", hint_choices(name, wans))

    yield from attach_ok("units", ["attach_to"], t.units.attach_to)
    has_hub = any(d.role == "vpn_hub" for d in t.centre.devices)
    for tw in t.townships:
        key = f"township:{tw.id}"
        yield from attach_ok(key, ["attach_to"], tw.attach_to)
        for i, vil in enumerate(tw.villages):
            if vil.attach == "vpn" and not has_hub:
                yield t.diag(key, ["villages", i, "attach"], "a VPN village needs a vpn_hub at the centre",
                             "add a centre device with role vpn_hub, or attach: leased")
