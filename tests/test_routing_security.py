"""Routing security (issue 10, part 4) on the bundled county's intents and renderings.

Both ends of every OSPF link authenticate with the same algorithm and key ids (HMAC-SHA-256, or MD5 where one end
is FRR 8.4 or H3C Comware 7); the rendered line on each end carries it; the city eBGP session has its password,
GTSM and prefix limit (and the lab's FRR rendering of the city edge the same); a rotation (two keys) renders both
keys where the platform takes several and the send key where it takes one.
"""

from __future__ import annotations

import ipaddress
import re

import pytest

from countynet import platforms
from countynet.intent.models import AuthKey, DeviceIntent
from countynet.render.engine import render_device
from tests.test_compliance import sections


def _ospf_links(intents: dict[str, DeviceIntent]) -> list[tuple[DeviceIntent, str, DeviceIntent, str]]:
    out = []
    for d in intents.values():
        for i in d.interfaces:
            if i.ospf and i.peer and i.kind != "loopback" and i.peer.host in intents and d.hostname < i.peer.host:
                peer = intents[i.peer.host]
                # the peer's OSPF interface on the same link (an SVI of a switched link names the same peer)
                far = next((j for j in peer.interfaces if j.ospf and j.peer and j.peer.host == d.hostname
                            and j.link == i.link), None)
                if far is not None:
                    out.append((d, i.name, peer, far.name))
    return out


def test_both_ends_of_every_ospf_link_agree(bundled) -> None:
    links = _ospf_links(bundled.intents)
    assert len(links) > 250, len(links)  # every leased line, core and WAN link
    bad = []
    for a, ai, b, bi in links:
        x, y = a.interface(ai).ospf, b.interface(bi).ospf
        assert x is not None and y is not None and a.routing.ospf and b.routing.ospf
        if x.auth != y.auth or [k.id for k in a.routing.ospf.auth_keys] != [k.id for k in b.routing.ospf.auth_keys]:
            bad.append(f"{a.hostname} {ai} ({x.auth}) <-> {b.hostname} {bi} ({y.auth})")
        if not a.routing.ospf.auth_keys:
            bad.append(f"{a.hostname}: no OSPF key")
    assert not bad, bad[:10]
    md5 = {(a.hostname, b.hostname) for a, ai, b, bi in links if a.interface(ai).ospf.auth == "md5"}  # type: ignore
    # MD5 exactly where one end's platform has no HMAC-SHA for OSPFv2 (the registry: FRR 8.4, Comware 7)
    weak = {(a.hostname, b.hostname) for a, _, b, _ in links
            if "hmac-sha256" not in platforms.flavour(a.flavour).ospf_auth
            or "hmac-sha256" not in platforms.flavour(b.flavour).ospf_auth}
    assert md5 == weak, sorted(md5 ^ weak)[:10]
    assert {("yx-core-1", "yx-vpnhub-1"), ("yx-core-2", "yx-vpnhub-1"), ("yx-gaoxi-rt1", "yx-wan-1")} <= md5
    assert ("yx-core-1", "yx-wan-1") not in md5 and len(md5) < len(links)


def _line_for(d: DeviceIntent, text: str, name: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"interface {name}")
    body = []
    for x in lines[start + 1:]:
        if not x.startswith(" "):
            break
        body.append(x)
    return [x for x in body if "authentication" in x or "message-digest-key" in x]


@pytest.mark.parametrize("host", ["yx-core-1", "yx-wan-1", "yx-aonan-rt1", "yx-gaoxi-rt1", "yx-city-1"])
def test_rendered_interfaces_carry_the_key(bundled, host: str) -> None:
    d = bundled.intents[host]
    text = next(v for k, v in render_device(d).items() if k.endswith(".cfg"))
    for i in d.interfaces:
        if not (i.ospf and i.kind != "loopback"):
            continue
        got = _line_for(d, text, i.name)
        assert got, f"{host} {i.name}: no authentication line"
        if d.platform == "cisco_ios":
            want = "key-chain OSPF-KEYS" if i.ospf.auth == "hmac-sha256" else "authentication message-digest"
        else:
            want = f"ospf authentication-mode {i.ospf.auth} {d.routing.ospf.auth_keys[0].id} "  # type: ignore[union-attr]
        assert any(want in x for x in got), (host, i.name, want, got)


def test_city_session_is_protected(bundled) -> None:
    d = bundled.intents["yx-city-1"]
    n = d.routing.bgp.neighbors[0]  # type: ignore[union-attr]
    assert n.auth_secret and n.ttl_hops == 1 and n.max_prefixes
    text = render_device(d)["yx-city-1.cfg"]
    assert f" neighbor {n.address} password ${{secret:{n.auth_secret}}}\n" in text
    assert f" neighbor {n.address} ttl-security hops 1\n" in text
    assert re.search(rf"^  neighbor {re.escape(n.address)} maximum-prefix {n.max_prefixes} 80$", text, re.M)
    frr = render_device(d.model_copy(update={"platform": "linux", "flavour": "linux_debian"}))["etc/frr/frr.conf"]
    assert f" neighbor {n.address} password ${{secret:{n.auth_secret}}}\n" in frr
    assert f" neighbor {n.address} ttl-security hops 1\n" in frr


def test_rotation_renders_both_keys_where_the_platform_takes_two(bundled) -> None:
    """During a rotation (two keys, the new one sent): IOS and FRR carry both, VRP and Comware the send key."""
    keys = [AuthKey(id=2, secret="ospf-key-2"), AuthKey(id=1, secret="ospf-key-1")]  # send key first

    def rotated(d: DeviceIntent) -> DeviceIntent:
        assert d.routing.ospf is not None
        ospf = d.routing.ospf.model_copy(update={"auth_keys": keys})
        return d.model_copy(update={"routing": d.routing.model_copy(update={"ospf": ospf})})

    city = render_device(rotated(bundled.intents["yx-city-1"]))["yx-city-1.cfg"]
    assert " key 1\n  key-string ${secret:ospf-key-1}\n" in city
    assert " key 2\n  key-string ${secret:ospf-key-2}\n" in city
    core = next(v for k, v in render_device(rotated(bundled.intents["yx-core-1"])).items() if k.endswith(".cfg"))
    assert " ospf authentication-mode hmac-sha256 2 cipher ${secret:ospf-key-2}\n" in core
    assert "ospf-key-1" not in core
    hub = render_device(rotated(bundled.intents["yx-vpnhub-1"]))["etc/frr/frr.conf"]
    # FRR sends with the last key configured: the send key (2) comes last
    assert hub.index("message-digest-key 1 md5") < hub.index("message-digest-key 2 md5")


# --- route filters (part 4): township routers and WAN routers accept from the routers below them only what lies
# behind them, and each area announces only its ranges, loopbacks and links (docs/security.md) ---

def _net(address: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Interface(address).network


def _announced(d: DeviceIntent) -> set[ipaddress.IPv4Network]:
    """What a router's own OSPF interfaces put into its area(s): their networks (the loopback as a /32)."""
    return {_net(i.address) for i in d.interfaces if i.ospf and i.address}


def _covered(n: ipaddress.IPv4Network, prefixes: list[str]) -> bool:
    return any(n.subnet_of(ipaddress.IPv4Network(p)) for p in prefixes)


def _home(d: DeviceIntent) -> str | None:
    return next((i.ospf.area for i in d.interfaces if i.kind == "loopback" and i.ospf), None)


def test_township_routers_accept_from_each_village_only_its_own_prefixes(bundled) -> None:
    """One rule per leased village: its address on the link as next hop, exactly its loopback, LAN and link."""
    intents = bundled.intents
    checked = 0
    for rt in (d for d in intents.values() if d.role == "township_router"):
        assert rt.routing.ospf is not None
        villages = {i.peer.host: i for i in rt.interfaces
                    if i.ospf and i.peer and intents[i.peer.host].role == "village_cpe"}
        rules = {r.peer: r for r in rt.routing.ospf.import_filter}
        assert set(rules) == set(villages), rt.hostname
        for v, mine in villages.items():
            vi = intents[v]
            far = next(j for j in vi.interfaces if j.peer and j.peer.host == rt.hostname and j.link == mine.link)
            assert far.address
            assert rules[v].next_hops == [far.address.split("/")[0]], (rt.hostname, v)
            lan = {_net(j.address) for j in vi.interfaces if j.kind == "svi" and j.address}
            assert {ipaddress.IPv4Network(p) for p in rules[v].prefixes} == \
                {_net(vi.loopback or ""), _net(far.address), *lan}, (rt.hostname, v)
            checked += 1
    assert checked > 100, checked
    assert not any(d.routing.ospf and d.routing.ospf.import_filter for d in intents.values()
                   if d.role not in ("township_router", "wan"))


def test_wan_routers_accept_from_areas_only_what_the_area_holds(bundled) -> None:
    """A WAN router's rule for a township or unit router covers everything its area's routers announce (nothing
    lost) and nothing that a router outside the area announces (nothing foreign)."""
    intents = bundled.intents
    by_area: dict[str, set[ipaddress.IPv4Network]] = {}
    for d in intents.values():
        if d.routing.ospf and d.role not in ("wan",):
            by_area.setdefault(_home(d) or "", set()).update(_announced(d))
    checked = 0
    for wan in (d for d in intents.values() if d.role == "wan"):
        assert wan.routing.ospf is not None
        below = {i.peer.host for i in wan.interfaces if i.ospf and i.peer
                 and intents[i.peer.host].role in ("township_router", "unit_router")}
        rules = {r.peer: r for r in wan.routing.ospf.import_filter}
        assert set(rules) == below, wan.hostname
        for peer, rule in rules.items():
            p = intents[peer]
            area = _home(p)
            mine = _announced(p) if p.role == "unit_router" else by_area[area or ""]
            lost = [str(n) for n in mine if not _covered(n, rule.prefixes)]
            assert not lost, (wan.hostname, peer, lost)
            foreign = [str(n) for a, nets in by_area.items() if a != area for n in nets
                       if _covered(n, rule.prefixes) or any(ipaddress.IPv4Network(x).subnet_of(n)
                                                            for x in rule.prefixes)]
            if p.role == "unit_router":  # a unit router shares its area with the other units: only its own
                foreign += [str(n) for u in intents.values() if u.role == "unit_router" and u.hostname != peer
                            for n in _announced(u) if _covered(n, rule.prefixes)]
            assert not foreign, (wan.hostname, peer, foreign[:5])
            checked += 1
    assert checked >= 23 + 40, checked


def test_areas_announce_only_their_ranges_loopbacks_and_links(bundled) -> None:
    """The ABR's export filter of each non-backbone area: its summary ranges, every prefix its routers announce
    outside them, and nothing another area's or the backbone's routers announce."""
    intents = bundled.intents
    by_area: dict[str, set[ipaddress.IPv4Network]] = {}
    for d in intents.values():
        if d.routing.ospf:
            for i in d.interfaces:
                if i.ospf and i.address:
                    by_area.setdefault(i.ospf.area, set()).add(_net(i.address))
    checked = 0
    for wan in (d for d in intents.values() if d.role == "wan"):
        assert wan.routing.ospf is not None
        for a in wan.routing.ospf.areas:
            if a.id == "0.0.0.0":
                assert not a.export_filter
                continue
            assert a.ranges and set(a.ranges) <= set(a.export_filter), (wan.hostname, a.id)
            lost = [str(n) for n in by_area[a.id] if not _covered(n, a.export_filter)]
            assert not lost, (wan.hostname, a.id, lost)
            home = {_net(i.address) for d in intents.values() if _home(d) == a.id
                    for i in d.interfaces if i.ospf and i.address}
            foreign = [str(n) for other, nets in by_area.items() if other != a.id for n in nets - home
                       if _covered(n, a.export_filter)]
            assert not foreign, (wan.hostname, a.id, foreign[:5])
            checked += 1
    assert checked >= 23 + 1, checked


def _vrp_prefix_lists(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in re.finditer(r"^ ?ip (?:ip-prefix|prefix-list) (\S+) index \d+ permit (\S+) (\d+)"
                         r"(?: greater-equal (\d+) less-equal 32)?$", text, re.M):
        assert m.group(4) in (None, m.group(3)), m.group(0)  # `or longer`: ge is the prefix's own length
        out.setdefault(m.group(1), []).append(f"{m.group(2)}/{m.group(3)}")
    return out


def _route_policy(text: str, name: str) -> list[tuple[str, int, list[str]]]:
    """(action, node, its if-match lines) of route-policy `name`, in order."""
    return [(m.group(1), int(m.group(2)), [x.strip() for x in body]) for head, body in sections(text).items()
            if (m := re.match(rf"^route-policy {name} (permit|deny) node (\d+)$", head))]


@pytest.mark.parametrize("host", ["yx-aonan-rt1", "yx-gaoxi-rt1", "yx-wan-1"])
def test_rendered_import_filter_is_the_intent(bundled, host: str) -> None:
    """The route-policy on the device: per rule a permit node matching its prefixes AND its next hops, then a
    deny of every filtered next hop, then a permit of the rest; applied in the OSPF view."""
    d = bundled.intents[host]
    assert d.routing.ospf and d.routing.ospf.import_filter
    text = next(v for k, v in render_device(d).items() if k.endswith(".cfg"))
    h3c = d.platform == "h3c_comware"
    match_pfx = "if-match ip address prefix-list" if h3c else "if-match ip-prefix"
    match_nh = "if-match ip next-hop prefix-list" if h3c else "if-match ip next-hop ip-prefix"
    plists = _vrp_prefix_lists(text)
    nodes = _route_policy(text, "OSPF-IN")
    rules = d.routing.ospf.import_filter
    assert len(nodes) == len(rules) + 2
    for (action, _, body), r in zip(nodes[:-2], rules, strict=True):
        assert action == "permit" and len(body) == 2
        pfx, nh = body[0].removeprefix(match_pfx + " "), body[1].removeprefix(match_nh + " ")
        assert body[0].startswith(match_pfx) and body[1].startswith(match_nh)
        assert plists[pfx] == r.prefixes and plists[nh] == [f"{x}/32" for x in r.next_hops]
    deny, rest = nodes[-2], nodes[-1]
    assert deny[0] == "deny" and rest[0] == "permit" and rest[2] == []
    assert sorted(plists[deny[2][0].removeprefix(match_nh + " ")]) == \
        sorted(f"{x}/32" for r in rules for x in r.next_hops)
    assert re.search(r"^ospf 1 .*\n(?: .*\n)*? filter-policy route-policy OSPF-IN import$", text, re.M)


def test_rendered_area_export_filters(bundled) -> None:
    """NE40E (the ABR): `filter ip-prefix OSPF-OUT-<area> export` in each non-backbone area's view, the list being
    the intent's export filter; FRR (the lab): `area <id> filter-list prefix ... out` with the same list."""
    d = bundled.intents["yx-wan-1"]
    assert d.routing.ospf
    text = next(v for k, v in render_device(d).items() if k.endswith(".cfg"))
    plists = _vrp_prefix_lists(text)
    areas = [a for a in d.routing.ospf.areas if a.export_filter]
    assert len(areas) > 5
    for a in areas:
        name = "OSPF-OUT-" + a.id.replace(".", "-")
        assert plists[name] == a.export_filter
        assert re.search(rf"^ area {re.escape(a.id)}\n(?:  .*\n)*?  filter ip-prefix {name} export$", text, re.M)
    frr = render_device(d.model_copy(update={"platform": "linux", "flavour": "linux_debian"}))["etc/frr/frr.conf"]
    for a in areas:
        name = "OSPF-OUT-" + a.id.replace(".", "-")
        assert f" area {a.id} filter-list prefix {name} out\n" in frr
        got = re.findall(rf"^ip prefix-list {name} seq \d+ permit (\S+)", frr, re.M)
        assert got == [p if "/" in p else f"{p}/32" for p in a.export_filter]
    assert "ip protocol ospf route-map OSPF-IN\n" in frr


@pytest.mark.parametrize("host", ["yx-aonan-rt1", "yx-wan-1"])
def test_cisco_rendering_carries_the_filters(bundled, host: str) -> None:
    """The IOS rendering (the Batfish verification rendering of the Huawei/H3C routers) keeps both filters: the
    route-map as a `distribute-list ... in`, and the area export lists as `area ... filter-list prefix ... out`."""
    d = bundled.intents[host]
    assert d.routing.ospf
    text = render_device(d.model_copy(update={"platform": "cisco_ios", "flavour": "cisco_iosxe"}))[f"{host}.cfg"]
    assert re.search(r"^router ospf 1\n(?: .*\n)*? distribute-list route-map OSPF-IN in$", text, re.M)
    rules = d.routing.ospf.import_filter
    for n, r in enumerate(rules, 1):
        assert f"route-map OSPF-IN permit {n * 10}\n match ip address prefix-list OSPF-IN-{n}\n" \
            f" match ip next-hop prefix-list OSPF-IN-{n}-NH\n" in text
        got = re.findall(rf"^ip prefix-list OSPF-IN-{n} seq \d+ permit (\S+)", text, re.M)
        assert got == r.prefixes
    assert "route-map OSPF-IN deny 65000\n match ip next-hop prefix-list OSPF-IN-NH\nroute-map OSPF-IN permit 65010\n" \
        in text
    for a in d.routing.ospf.areas:
        if a.export_filter:
            name = "OSPF-OUT-" + a.id.replace(".", "-")
            assert f" area {a.id} filter-list prefix {name} out\n" in text
            assert re.findall(rf"^ip prefix-list {name} seq \d+ permit (\S+)", text, re.M) == a.export_filter
