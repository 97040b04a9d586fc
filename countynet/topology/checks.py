"""Cross-file checks: names, references and platform choices that no single file's schema can see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from countynet.errors import Diagnostic

if TYPE_CHECKING:
    from countynet.topology.loader import Topology

# which hardware kinds can play which role (an "impossible platform choice" is an error)
ROLE_KINDS: dict[str, set[str]] = {
    "core": {"switch"},
    "wan": {"router"},
    "firewall": {"firewall", "router"},
    "city_edge": {"router"},
    "vpn_hub": {"router", "server"},
    "access_switch": {"switch"},
    "township_router": {"router"},
    "township_switch": {"switch"},
    "village_cpe": {"router"},
    "unit_router": {"router"},
    "server": {"server"},
}


def _hint_choices(word: str, choices: list[str]) -> str:
    from countynet.topology.loader import did_you_mean

    return did_you_mean(word, choices) or f"choose one of: {', '.join(sorted(choices)[:12])}"


def check_topology(t: Topology) -> Iterator[Diagnostic]:
    hw = t.catalog.hardware
    kits = t.catalog.kits
    for name, kit in kits.items():
        if kit.hardware not in hw:
            yield t.diag("catalog", ["kits", name, "hardware"], f"unknown hardware {kit.hardware!r}",
                         _hint_choices(kit.hardware, list(hw)))

    def kit_ok(key: str, path: list, kit: str | None, role: str) -> Iterator[Diagnostic]:
        if kit is None:
            return
        if kit not in kits:
            yield t.diag(key, path, f"unknown kit {kit!r}", _hint_choices(kit, list(kits)))
            return
        model = hw.get(kits[kit].hardware)
        if model and model.kind not in ROLE_KINDS[role]:
            yield t.diag(key, path, f"kit {kit!r} is a {model.kind} ({kits[kit].hardware}, "
                         f"{model.platform}); a {role} needs a {' or '.join(sorted(ROLE_KINDS[role]))}",
                         "pick a kit whose hardware can play this role")

    waves = {w.number for w in t.county.waves}
    seen_names: dict[str, tuple[str, list]] = {}

    def unique(name: str, key: str, path: list) -> Iterator[Diagnostic]:
        if name in seen_names:
            okey, opath = seen_names[name]
            ofile, opos = t.where(okey, opath)
            yield t.diag(key, path, f"name {name!r} is already used at {ofile}:{opos.line}",
                         "give every device a unique name")
        else:
            seen_names[name] = (key, path)

    c = t.centre
    zones = {z.name: z for z in c.zones}
    for i, z in enumerate(c.zones):
        if list(zones).count(z.name) > 1 or [x.name for x in c.zones].index(z.name) != i:
            yield t.diag("centre", ["zones", i, "name"], f"duplicate zone {z.name!r}", "rename one zone")
        if z.security_zone not in t.policy.zones:
            yield t.diag("centre", ["zones", i, "security_zone"], f"unknown security zone {z.security_zone!r}",
                         _hint_choices(z.security_zone, list(t.policy.zones)))
    vlans = [z.vlan for z in c.zones]
    for i, z in enumerate(c.zones):
        if vlans.index(z.vlan) != i:
            yield t.diag("centre", ["zones", i, "vlan"], f"VLAN {z.vlan} is used by two zones",
                         "give each zone its own VLAN id")
    devices = {d.name: d for d in c.devices}
    for i, d in enumerate(c.devices):
        yield from unique(d.name, "centre", ["devices", i, "name"])
        yield from kit_ok("centre", ["devices", i, "kit"], d.kit, d.role)
        if d.wave not in waves:
            yield t.diag("centre", ["devices", i, "wave"], f"wave {d.wave} is not declared in county.yaml",
                         f"use one of {sorted(waves)}")
    for i, s in enumerate(c.servers):
        yield from unique(s.name, "centre", ["servers", i, "name"])
        yield from kit_ok("centre", ["servers", i, "kit"], s.kit, "server")
        if s.zone not in zones:
            yield t.diag("centre", ["servers", i, "zone"], f"unknown zone {s.zone!r}",
                         _hint_choices(s.zone, list(zones)))
        sw = devices.get(s.switch)
        if sw is None or sw.role != "access_switch":
            yield t.diag("centre", ["servers", i, "switch"], f"{s.switch!r} is not an access switch",
                         _hint_choices(s.switch, [d for d, v in devices.items() if v.role == "access_switch"]))
        for j, svc in enumerate(s.services):
            if svc not in t.policy.services:
                yield t.diag("centre", ["servers", i, "services", j], f"unknown service {svc!r}",
                             _hint_choices(svc, list(t.policy.services)))
    for i, link in enumerate(c.links):
        for end in ("a", "b"):
            dev, _, port = getattr(link, end).partition(":")
            if dev not in devices:
                yield t.diag("centre", ["links", i, end], f"link end {dev!r} is not a centre device",
                             _hint_choices(dev, list(devices)))
                continue
            model = hw.get(kits[devices[dev].kit].hardware) if devices[dev].kit in kits else None
            if model and port and port not in model.ports and "/" not in port and not port[-1:].isdigit():
                yield t.diag("centre", ["links", i, end], f"{kits[devices[dev].kit].hardware} has no port "
                             f"group {port!r}", _hint_choices(port, list(model.ports)))
        if link.a.partition(":")[0] == link.b.partition(":")[0]:
            yield t.diag("centre", ["links", i], "a link cannot join a device to itself", "fix one end")
        for j, v in enumerate(link.vlans):
            if v not in zones:
                yield t.diag("centre", ["links", i, "vlans", j], f"unknown zone {v!r}",
                             _hint_choices(v, list(zones)))
    for i, up in enumerate(c.uplinks):
        want = {"internet": {"firewall", "vpn_hub"}, "city": {"city_edge"}}[up.kind]
        dev = up.device.partition(":")[0]
        found = devices.get(dev)
        if found is None or found.role not in want:
            yield t.diag("centre", ["uplinks", i, "device"],
                         f"{dev!r} is not a {' or '.join(sorted(want))} device",
                         _hint_choices(dev, [n for n, v in devices.items() if v.role in want]))
    servers = {s.name: s for s in c.servers}
    m = t.county.management
    for field in ("ntp_servers", "syslog_servers", "snmp_managers", "aaa_servers", "jump_hosts"):
        for j, name in enumerate(getattr(m, field)):
            if name not in servers:
                yield t.diag("county", ["management", field, j], f"{name!r} is not a server in centre.yaml",
                             _hint_choices(name, list(servers)))
            elif servers[name].zone != "management":
                yield t.diag("county", ["management", field, j],
                             f"{name!r} sits in zone {servers[name].zone!r}, not in the management zone",
                             "management services must live in the management zone")
    if "management" not in zones:
        yield t.diag("centre", ["zones"], "there is no zone named 'management'",
                     "add a management zone (等保 level 3 asks a dedicated management zone)")
    roles = {d.role for d in c.devices}
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
    for r in ("core", "wan", "firewall"):
        if r not in roles:
            yield t.diag("centre", ["devices"], f"no {r} device in the centre", f"add a device with role {r}")

    def attach_ok(key: str, path: list, name: str) -> Iterator[Diagnostic]:
        d = devices.get(name)
        if d is None or d.role != "wan":
            yield t.diag(key, path, f"{name!r} is not a centre wan device",
                         _hint_choices(name, [n for n, v in devices.items() if v.role == "wan"]))

    u = t.units
    yield from attach_ok("units", ["attach_to"], u.attach_to)
    yield from kit_ok("units", ["default_kit"], u.default_kit, "unit_router")
    if u.default_wave not in waves:
        yield t.diag("units", ["default_wave"], f"wave {u.default_wave} is not declared", f"use {sorted(waves)}")
    for i, unit in enumerate(u.units):
        yield from unique(f"unit:{unit.id}", "units", ["units", i, "id"])
        yield from kit_ok("units", ["units", i, "kit"], unit.kit, "unit_router")
        if unit.wave is not None and unit.wave not in waves:
            yield t.diag("units", ["units", i, "wave"], f"wave {unit.wave} is not declared",
                         f"use one of {sorted(waves)}")
    areas: dict[int, str] = {}
    has_hub = "vpn_hub" in roles
    for tw in t.townships:
        key = f"township:{tw.id}"
        yield from unique(f"township:{tw.id}", key, ["id"])
        if tw.area in areas or tw.area == t.county.routing.unit_area:
            other = areas.get(tw.area, "the county-direct units")
            yield t.diag(key, ["area"], f"OSPF area {tw.area} is already used by {other}",
                         "give each township its own area number")
        areas[tw.area] = tw.id
        yield from attach_ok(key, ["attach_to"], tw.attach_to)
        yield from kit_ok(key, ["router_kit"], tw.router_kit, "township_router")
        yield from kit_ok(key, ["switch_kit"], tw.switch_kit, "township_switch")
        yield from kit_ok(key, ["village_kit"], tw.village_kit, "village_cpe")
        if tw.wave not in waves:
            yield t.diag(key, ["wave"], f"wave {tw.wave} is not declared", f"use one of {sorted(waves)}")
        if tw.rollout.villages < tw.rollout.township:
            yield t.diag(key, ["rollout", "villages"], "villages cannot come online before their township",
                         "set the villages' year to the township's year or later")
        ids: set[str] = set()
        for i, vil in enumerate(tw.villages):
            if vil.id in ids:
                yield t.diag(key, ["villages", i, "id"], f"duplicate village {vil.id!r} in {tw.id}",
                             "give each village of a township its own id")
            ids.add(vil.id)
            yield from kit_ok(key, ["villages", i, "kit"], vil.kit, "village_cpe")
            if vil.attach == "vpn" and not has_hub:
                yield t.diag(key, ["villages", i, "attach"], "a VPN village needs a vpn_hub at the centre",
                             "add a centre device with role vpn_hub, or attach: leased")
    yield from _check_policy(t, zones, servers)


def _check_policy(t: Topology, zones: dict, servers: dict) -> Iterator[Diagnostic]:
    p = t.policy
    townships = {tw.id for tw in t.townships}
    units = {u.id for u in t.units.units}
    kinds = {z.kind for z in p.zones.values()}
    for k in ("internet", "city", "unit-lan", "township-lan", "village-lan", "device-mgmt"):
        if k not in kinds:
            yield t.diag("policy", ["zones"], f"no security zone of kind {k!r}",
                         f"add a zone with kind: {k} so every network segment belongs to a zone")
    today = dt.date.today()
    for i, r in enumerate(p.rules):
        for fld, alias in (("source", "from"), ("destination", "to")):
            for j, z in enumerate(getattr(r, fld)):
                if z not in p.zones:
                    yield t.diag("policy", ["rules", i, alias, j], f"unknown zone {z!r}",
                                 _hint_choices(z, list(p.zones)))
        for j, s in enumerate(r.services):
            if s not in p.services:
                yield t.diag("policy", ["rules", i, "services", j], f"unknown service {s!r}",
                             _hint_choices(s, list(p.services)))
        for j, h in enumerate(r.destination_hosts):
            if h not in servers:
                yield t.diag("policy", ["rules", i, "destination_hosts", j], f"unknown server {h!r}",
                             _hint_choices(h, list(servers)))
        if r.scope and r.scope.township and r.scope.township not in townships:
            yield t.diag("policy", ["rules", i, "scope", "township"], f"unknown township {r.scope.township!r}",
                         _hint_choices(r.scope.township, list(townships)))
        if r.scope and r.scope.unit and r.scope.unit not in units:
            yield t.diag("policy", ["rules", i, "scope", "unit"], f"unknown unit {r.scope.unit!r}",
                         _hint_choices(r.scope.unit, list(units)))
        if r.expires and r.expires < today:
            yield t.diag("policy", ["rules", i, "expires"],
                         f"rule {r.name!r} expired on {r.expires}"
                         + (" and is dropped" if (today - r.expires).days > p.expiry_grace_days else
                            " and will be dropped after the grace period"),
                         "renew the rule with a new expiry date or delete it", severity="warning")
