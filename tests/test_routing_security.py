"""Routing security (issue 10, part 4) on the bundled county's intents and renderings.

Both ends of every OSPF link authenticate with the same algorithm and key ids (HMAC-SHA-256, or MD5 where one end
is FRR 8.4); the rendered line on each end carries it; the city eBGP session has its password, GTSM and prefix limit
(and the lab's FRR rendering of the city edge the same); a rotation (two keys) renders both keys where the platform
takes several and the send key where it takes one.
"""

from __future__ import annotations

import re

import pytest

from countynet.intent.models import AuthKey, DeviceIntent
from countynet.render.engine import render_device


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
    assert md5 == {("yx-core-1", "yx-vpnhub-1"), ("yx-core-2", "yx-vpnhub-1")}, md5


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
