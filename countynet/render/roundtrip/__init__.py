"""Independent round-trip check: parse rendered configs back and compare them with the intent.

Each parser module (a platform flavour's `roundtrip` names it) parses its rendered files with TTP (an
independent, well-kept parser) into :class:`Facts`; :func:`expected` derives the same facts from the
intent; :func:`compare` lists every difference. A template that drops an address, a VLAN, a route or an
ACL line is caught here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from countynet import platforms
from countynet.intent.models import DeviceIntent


@dataclass
class IfFacts:
    address: str | None = None          # "10.0.0.1/30"
    access_vlan: int | None = None
    trunk_vlans: set[int] = field(default_factory=set)
    lag: str | None = None


@dataclass
class Facts:
    hostname: str = ""
    interfaces: dict[str, IfFacts] = field(default_factory=dict)
    vlans: set[int] = field(default_factory=set)
    ospf_interfaces: dict[str, str] = field(default_factory=dict)  # interface -> area (dotted)
    static_routes: set[str] = field(default_factory=set)           # "prefix" (next hop ignored)
    bgp_neighbors: dict[str, int] = field(default_factory=dict)     # address -> remote AS
    acl_rules: dict[str, int] = field(default_factory=dict)         # filter name -> number of rules


def expected(d: DeviceIntent) -> Facts:
    f = Facts(hostname=d.hostname)
    for i in d.interfaces:
        itf = IfFacts(address=i.address)
        if i.kind == "access":
            itf.access_vlan = i.vlan
        if i.kind in ("trunk", "lag"):
            itf.trunk_vlans = set(i.vlans)
        if i.kind == "lag_member":
            itf.lag = i.lag
        f.interfaces[i.name] = itf
        if i.ospf and d.routing.ospf:
            f.ospf_interfaces[i.name] = i.ospf.area
    if d.access_security:  # the model's unused ports are rendered too (shut, "unused"): no address, no VLAN
        for name in d.access_security.unused_ports:
            f.interfaces[name] = IfFacts()
    f.vlans = {v.id for v in d.vlans}
    f.static_routes = {r.prefix for r in d.routing.static}
    if d.routing.bgp:
        f.bgp_neighbors = {n.address: n.remote_as for n in d.routing.bgp.neighbors}
    f.acl_rules = {flt.name: len(flt.rules) for flt in d.filters}
    return f


def parsers() -> frozenset[str]:
    """The round-trip parsers the platform flavours name (one module of this package each)."""
    return frozenset(f.roundtrip for f in platforms.flavours().values())


def parse(parser: str, files: dict[str, str], d: DeviceIntent) -> Facts:
    """Parse one device's rendered files with the named parser (a flavour's `roundtrip`, e.g. huawei_vrp)."""
    if parser not in parsers():
        raise platforms.UnknownFlavour(parser, parsers(), what="round-trip parser")
    mod = importlib.import_module(f"countynet.render.roundtrip.{parser}")
    return mod.parse(files, d)  # type: ignore[no-any-return,unused-ignore]


def compare(want: Facts, got: Facts) -> list[str]:
    out: list[str] = []
    if want.hostname != got.hostname:
        out.append(f"hostname: intent {want.hostname!r}, config {got.hostname!r}")
    for name, w in want.interfaces.items():
        g = got.interfaces.get(name)
        if g is None:
            out.append(f"interface {name}: missing from config")
            continue
        if w.address != g.address:
            out.append(f"interface {name}: address intent {w.address}, config {g.address}")
        if w.access_vlan != g.access_vlan:
            out.append(f"interface {name}: access VLAN intent {w.access_vlan}, config {g.access_vlan}")
        if w.trunk_vlans != g.trunk_vlans:
            out.append(f"interface {name}: trunk VLANs intent {sorted(w.trunk_vlans)}, "
                       f"config {sorted(g.trunk_vlans)}")
        if w.lag != g.lag:
            out.append(f"interface {name}: aggregate intent {w.lag}, config {g.lag}")
    for name in sorted(set(got.interfaces) - set(want.interfaces)):
        out.append(f"interface {name}: in config but not in intent")
    if want.vlans != got.vlans:
        out.append(f"VLANs: intent {sorted(want.vlans)}, config {sorted(got.vlans)}")
    if want.ospf_interfaces != got.ospf_interfaces:
        diff = set(want.ospf_interfaces.items()) ^ set(got.ospf_interfaces.items())
        out.append(f"OSPF interfaces/areas differ: {sorted(diff)}")
    if want.static_routes != got.static_routes:
        out.append(f"static routes: only in intent {sorted(want.static_routes - got.static_routes)}, "
                   f"only in config {sorted(got.static_routes - want.static_routes)}")
    if want.bgp_neighbors != got.bgp_neighbors:
        out.append(f"BGP neighbours: intent {want.bgp_neighbors}, config {got.bgp_neighbors}")
    if want.acl_rules != got.acl_rules:
        out.append(f"ACL rules: intent {want.acl_rules}, config {got.acl_rules}")
    return out


def check_device(d: DeviceIntent, files: dict[str, str]) -> list[str]:
    """Differences between the intent and its rendered files, parsed by the rendering flavour's parser."""
    from countynet.render.engine import render_flavour

    return compare(expected(d), parse(render_flavour(d).roundtrip, files, d))
