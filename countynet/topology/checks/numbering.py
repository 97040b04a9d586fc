"""Names and numbers: device and site names, zone names and VLAN ids, OSPF areas and village ids are unique;
waves are declared; rollout years are in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from countynet.errors import Diagnostic

if TYPE_CHECKING:
    from countynet.topology.validated import Topology


def check(t: Topology) -> Iterator[Diagnostic]:
    """Unique names, VLAN ids and areas; declared waves; villages online no earlier than their township."""
    seen_names: dict[str, tuple[str, list[Any]]] = {}

    def unique(name: str, key: str, path: list[Any]) -> Iterator[Diagnostic]:
        if name in seen_names:
            okey, opath = seen_names[name]
            ofile, opos = t.where(okey, opath)
            yield t.diag(key, path, f"name {name!r} is already used at {ofile}:{opos.line}",
                         "give every device a unique name")
        else:
            seen_names[name] = (key, path)

    waves = {w.number for w in t.county.waves}
    c = t.centre
    names = [z.name for z in c.zones]
    for i, z in enumerate(c.zones):
        if names.index(z.name) != i:
            yield t.diag("centre", ["zones", i, "name"], f"duplicate zone {z.name!r}", "rename one zone")
    vlans = [z.vlan for z in c.zones]
    for i, z in enumerate(c.zones):
        if vlans.index(z.vlan) != i:
            yield t.diag("centre", ["zones", i, "vlan"], f"VLAN {z.vlan} is used by two zones",
                         "give each zone its own VLAN id")
    yield from _vlan_plan(t)
    for i, d in enumerate(c.devices):
        yield from unique(d.name, "centre", ["devices", i, "name"])
        if d.wave not in waves:
            yield t.diag("centre", ["devices", i, "wave"], f"wave {d.wave} is not declared in county.yaml",
                         f"use one of {sorted(waves)}")
    for i, s in enumerate(c.servers):
        yield from unique(s.name, "centre", ["servers", i, "name"])
    u = t.units
    if u.default_wave not in waves:
        yield t.diag("units", ["default_wave"], f"wave {u.default_wave} is not declared", f"use {sorted(waves)}")
    for i, unit in enumerate(u.units):
        yield from unique(f"unit:{unit.id}", "units", ["units", i, "id"])
        if unit.wave is not None and unit.wave not in waves:
            yield t.diag("units", ["units", i, "wave"], f"wave {unit.wave} is not declared",
                         f"use one of {sorted(waves)}")
    areas: dict[int, str] = {}
    for tw in t.townships:
        key = f"township:{tw.id}"
        yield from unique(f"township:{tw.id}", key, ["id"])
        if tw.area in areas or tw.area == t.county.routing.unit_area:
            other = areas.get(tw.area, "the county-direct units")
            yield t.diag(key, ["area"], f"OSPF area {tw.area} is already used by {other}",
                         "give each township its own area number")
        areas[tw.area] = tw.id
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


def _vlan_plan(t: Topology) -> Iterator[Diagnostic]:
    """The VLAN plan: a township switch's two LAN VLANs differ, the transit range is ordered, and no LAN VLAN
    falls inside the transit range (a switch would carry one VLAN id for two purposes). Zone VLANs against the
    transit VLANs are checked per device by the intent stage, where the clash is known."""
    v = t.county.vlans
    if v.township_stations == v.township_gov:
        gov = t.where("county", ["vlans", "township_gov"])[1]
        yield t.diag("county", ["vlans", "township_stations"],
                     f"VLAN {v.township_stations} is also township_gov (line {gov.line}): the township switch "
                     f"would carry both LANs in one VLAN", "give township_stations its own VLAN id")
    if v.transit_first > v.transit_last:
        yield t.diag("county", ["vlans", "transit_last"],
                     f"transit_last {v.transit_last} is below transit_first {v.transit_first}",
                     "set transit_last to transit_first or higher")
    transit = range(v.transit_first, v.transit_last + 1)
    for field in ("township_gov", "township_stations", "village_lan", "unit_lan"):
        vid = getattr(v, field)
        if vid in transit:
            yield t.diag("county", ["vlans", field], f"VLAN {vid} lies in the transit range "
                         f"{v.transit_first}-{v.transit_last}", "choose a VLAN id outside the transit range")
