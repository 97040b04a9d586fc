"""Both ends agree (issue 11, part 5): every pair of ends across devices, read from the RENDERED configurations
(each platform's own lines), not only from the intents.

* IPsec: each village (Huawei VRP / H3C Comware spoke) against the strongSwan hub's connection for it: IKE
  proposal, ESP proposal, PFS group, identities, pre-shared-key reference, the hub's address, and the route-based
  contract (the hub's CHILD_SA has selectors 0.0.0.0/0 and the XFRM if_id of an interface that the village's
  networks, tunnel subnet included, are routed into and whose traffic the hub filters).
* OSPF: both interfaces of every link: area, hello/dead, network type, authentication (mode and key reference).
* BGP: the city session's addresses and AS numbers against the topology's hand-off.

The topology is a copy of the bundled one whose IKE and ESP proposals DIFFER in every part (cipher, integrity,
DH group), so a template that uses the ESP proposal for IKE (or the reverse) is caught; the bundled one has them
equal. The parsers here are small and written for these few lines (no well-kept parser reads VRP, Comware,
swanctl and FRR alike); each refuses a form it does not know rather than guessing.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import build_topology, edit
from tests.test_render_linux import parse_swanctl

IKE = "aes256-sha384-modp3072"
ESP = "aes128-sha256-modp2048"

# vendor names -> strongSwan's (written here, independently of the templates' tables)
ENC = {"aes-128": "aes128", "aes-192": "aes192", "aes-256": "aes256",
       "aes-cbc-128": "aes128", "aes-cbc-192": "aes192", "aes-cbc-256": "aes256"}
HASH = {"sha1": "sha1", "sha2-256": "sha256", "sha2-384": "sha384", "sha2-512": "sha512", "sha256": "sha256",
        "sha384": "sha384", "sha512": "sha512", "hmac-sha2-256": "sha256", "hmac-sha2-384": "sha384",
        "hmac-sha2-512": "sha512"}
DH = {"5": "modp1536", "14": "modp2048", "15": "modp3072", "16": "modp4096", "19": "ecp256", "20": "ecp384"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled topology with IKE != ESP in every part, built once."""
    import shutil

    from tests.conftest import TOPOLOGY

    root = tmp_path_factory.mktemp("both-ends")
    topo = root / "topology"
    shutil.copytree(TOPOLOGY, topo)
    edit(topo / "county.yaml", "  ike_proposal: aes256-sha256-modp2048\n", f"  ike_proposal: {IKE}\n")
    edit(topo / "county.yaml", "  esp_proposal: aes256-sha256-modp2048\n", f"  esp_proposal: {ESP}\n")
    return build_topology(topo, root / "build")


# ---------------------------------------------------------------- reading the rendered text

def blocks(text: str, comment: str) -> list[tuple[str, list[str]]]:
    """Top-level sections of a VRP/Comware/IOS config: (header line, its indented lines)."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.strip() == comment:
            continue
        if line[0] != " ":
            out.append((line.strip(), []))
        elif out:
            out[-1][1].append(line.rstrip())
    return out


def body(bl: list[tuple[str, list[str]]], header: str) -> list[str]:
    found = [b for h, b in bl if h == header]
    assert len(found) == 1, f"{header!r}: {len(found)} sections"
    return [x.strip() for x in found[0]]


def value(lines: list[str], prefix: str) -> str:
    found = [x[len(prefix):].strip() for x in lines if x.startswith(prefix)]
    assert len(found) == 1, f"{prefix!r}: {found}"
    return found[0]


@dataclass
class SpokeVpn:
    ike: str
    esp: str            # cipher-integrity of ESP, with the PFS group: strongSwan's esp_proposals form
    local_id: str
    remote_id: str
    psk: str            # secret reference
    hub_address: str
    tunnel_subnet: str
    route_based: bool


def spoke_huawei(text: str) -> SpokeVpn:
    bl = blocks(text, "#")
    ike = body(bl, "ike proposal 10")
    esp = body(bl, "ipsec proposal esp-1")
    peer_hdr = next(h for h, _ in bl if h.startswith("ike peer "))
    peer = body(bl, peer_hdr)
    prof = body(bl, f"ipsec profile {peer_hdr.split()[2]}")
    assert value(prof, "ike-peer") == peer_hdr.split()[2] and value(prof, "proposal") == "esp-1"
    ike_p = "-".join([ENC[value(ike, "encryption-algorithm")], HASH[value(ike, "authentication-algorithm")],
                      DH[value(ike, "dh group")]])
    if any(x.startswith("integrity-algorithm") for x in ike):  # IKEv2: integrity and PRF must say the same
        assert HASH[value(ike, "integrity-algorithm")] == HASH[value(ike, "prf")] == ike_p.split("-")[1]
    esp_p = "-".join([ENC[value(esp, "esp encryption-algorithm")], HASH[value(esp, "esp authentication-algorithm")],
                      DH[value(prof, "pfs dh-group")]])
    tun = [x.strip() for x in next(b for h, b in bl if h.startswith("interface Tunnel"))]
    return SpokeVpn(ike_p, esp_p, value(peer, "local-id "), value(peer, "remote-id "),
                    value(peer, "pre-shared-key cipher"), value(peer, "remote-address"),
                    _subnet(value(tun, "ip address")), value(tun, "tunnel-protocol") == "ipsec"
                    and value(tun, "ipsec profile") == peer_hdr.split()[2]
                    and value(tun, "destination") == value(peer, "remote-address"))


def spoke_comware(text: str) -> SpokeVpn:
    bl = blocks(text, "#")
    ike = body(bl, next(h for h, _ in bl if h.startswith("ikev2 proposal ")))
    ts = body(bl, next(h for h, _ in bl if h.startswith("ipsec transform-set ")))
    prof_hdr = next(h for h, _ in bl if h.startswith("ipsec profile ") and h.endswith(" isakmp"))
    name = prof_hdr.split()[2]
    prof = body(bl, prof_hdr)
    ikev2 = body(bl, f"ikev2 profile {name}")
    chain = body(bl, f"ikev2 keychain {value(ikev2, 'keychain')}")
    assert HASH[value(ike, "integrity")] == HASH[value(ike, "prf")]
    ike_p = "-".join([ENC[value(ike, "encryption")], HASH[value(ike, "integrity")], DH[value(ike, "dh group")]])
    assert value(prof, "transform-set") == next(h for h, _ in bl if h.startswith("ipsec transform-set ")).split()[2]
    esp_p = "-".join([ENC[value(ts, "esp encryption-algorithm")], HASH[value(ts, "esp authentication-algorithm")],
                      DH[value(ts, "pfs dh-group")]])
    tun = [x.strip() for x in body(bl, next(h for h, _ in bl if h.startswith("interface Tunnel")
                                            and h.endswith("mode ipsec")))]
    hub_addr = value(chain, "address").split()[0]
    assert value(chain, "identity fqdn") == value(ikev2, "match remote identity fqdn")
    return SpokeVpn(ike_p, esp_p, value(ikev2, "identity local fqdn"), value(ikev2, "match remote identity fqdn"),
                    value(chain, "pre-shared-key plaintext"), hub_addr, _subnet(value(tun, "ip address")),
                    value(tun, "tunnel protection ipsec profile") == name and value(tun, "destination") == hub_addr)


def _subnet(addr_mask: str) -> str:
    a, m = addr_mask.split()
    return str(ipaddress.IPv4Interface(f"{a}/{m}").network)


# ---------------------------------------------------------------- IPsec

def ipsec_mismatches(spoke_host: str, spoke: SpokeVpn, hub: dict, secrets: dict[str, str], interfaces: str,
                     frr: str, nft: str) -> list[str]:
    """What does not agree between a village's rendered VPN and the hub's rendered connection for it."""
    bad: list[str] = []
    conn = hub["connections"].get(spoke_host)
    if conn is None:
        return [f"{spoke_host}: the hub has no connection for it"]
    child = conn["children"][spoke_host]

    def same(what: str, a: str, b: str) -> None:
        if a != b:
            bad.append(f"{spoke_host}: {what}: village {a!r} != hub {b!r}")

    same("IKE proposal", spoke.ike, conn["proposals"])
    same("ESP proposal and PFS group", spoke.esp, child["esp_proposals"])
    same("village identity", spoke.local_id, conn["remote"]["id"])
    same("hub identity", spoke.remote_id, conn["local"]["id"])
    same("hub address", spoke.hub_address, conn["local_addrs"])
    same("pre-shared key reference", spoke.psk, secrets.get(spoke.local_id, "(none)").strip('"'))
    if not spoke.route_based:
        bad.append(f"{spoke_host}: the village's tunnel interface does not carry its IPsec profile")
    # route-based: selectors 0/0 (what a tunnel interface proposes), the XFRM interface of this if_id
    same("hub selectors", "0.0.0.0/0 0.0.0.0/0", f"{child.get('local_ts')} {child.get('remote_ts')}")
    xid = child.get("if_id_in")
    if xid is None or xid != child.get("if_id_out"):
        bad.append(f"{spoke_host}: hub if_id_in {xid} / if_id_out {child.get('if_id_out')}")
        return bad
    dev = re.search(rf"^\s+pre-up ip link add (\S+) type xfrm dev \S+ if_id {xid}$", interfaces, re.M)
    if dev is None:
        bad.append(f"{spoke_host}: no XFRM interface with if_id {xid} on the hub")
        return bad
    routed = set(re.findall(rf"^ip route (\S+) {re.escape(dev.group(1))}$", frr, re.M))
    if spoke.tunnel_subnet not in routed:
        bad.append(f"{spoke_host}: the hub routes {sorted(routed)} into {dev.group(1)}, not the tunnel subnet "
                   f"{spoke.tunnel_subnet}")
    if not re.search(rf'^\s+iifname "{re.escape(dev.group(1))}" jump acl_', nft, re.M):
        bad.append(f"{spoke_host}: the hub does not filter what arrives on {dev.group(1)}")
    return bad


def _hub(built: Path) -> tuple[dict, dict[str, str], str, str, str]:
    etc = built / "configs" / "yx-vpnhub-1" / "etc"
    hub = parse_swanctl((etc / "swanctl" / "swanctl.conf").read_text())
    secrets = {s["id"]: s["secret"] for s in hub["secrets"].values()}
    return (hub, secrets, (etc / "network" / "interfaces").read_text(), (etc / "frr" / "frr.conf").read_text(),
            (etc / "nftables.conf").read_text())


def _spokes(built: Path) -> dict[str, SpokeVpn]:
    out = {}
    for cfg in sorted((built / "configs").glob("*/*.cfg")):
        text = cfg.read_text()
        if "\nike peer " in text:
            out[cfg.stem] = spoke_huawei(text)
        elif "\nikev2 profile " in text:
            out[cfg.stem] = spoke_comware(text)
    return out


def test_ike_and_esp_differ_in_the_test_topology(built):
    """The premise: with IKE == ESP (the bundled topology) a swapped proposal would go unnoticed."""
    assert all(a != b for a, b in zip(IKE.split("-"), ESP.split("-"), strict=True))


def test_every_village_agrees_with_the_hub(built):
    hub, secrets, ifaces, frr, nft = _hub(built)
    spokes = _spokes(built)
    kinds = {("huawei" if "\nike peer " in (built / "configs" / h / f"{h}.cfg").read_text() else "comware")
             for h in spokes}
    assert len(spokes) == len(hub["connections"]) > 50 and kinds == {"huawei", "comware"}
    bad = [m for h, s in spokes.items() for m in ipsec_mismatches(h, s, hub, secrets, ifaces, frr, nft)]
    assert not bad, "\n".join(bad[:20])
    assert {s.ike for s in spokes.values()} == {IKE} and {s.esp for s in spokes.values()} == {ESP}


def test_a_hub_with_the_esp_proposal_for_ike_is_caught(built):
    """The comparison can fail: the hub rendered with the ESP proposal for IKE, or narrowed selectors."""
    hub, secrets, ifaces, frr, nft = _hub(built)
    host, spoke = next(iter(_spokes(built).items()))
    hub["connections"][host]["proposals"] = ESP
    assert any("IKE proposal" in m for m in ipsec_mismatches(host, spoke, hub, secrets, ifaces, frr, nft))
    hub, *_ = _hub(built)
    hub["connections"][host]["children"][host]["local_ts"] = "10.30.0.0/16"
    assert any("hub selectors" in m for m in ipsec_mismatches(host, spoke, hub, secrets, ifaces, frr, nft))
    hub, *_ = _hub(built)
    frr_without = "\n".join(x for x in frr.splitlines() if not x.startswith(f"ip route {spoke.tunnel_subnet} "))
    assert any("tunnel subnet" in m for m in ipsec_mismatches(host, spoke, hub, secrets, ifaces, frr_without, nft))


# ---------------------------------------------------------------- OSPF

@dataclass
class OspfEnd:
    host: str
    interface: str
    area: str | None = None
    hello: int = 10
    dead: int = 40
    network_type: str = "broadcast"
    auth: tuple[str, str] | None = None   # (mode, key reference)
    extra: list[str] = field(default_factory=list)


def _norm_mode(mode: str) -> str:
    m = re.sub(r"[^a-z0-9]", "", re.sub(r"sha2-(?=\d{3})", "sha", mode.lower()))
    if m in ("md5", "messagedigest", "hmacmd5"):
        return m.replace("messagedigest", "md5")  # keyed MD5 (RFC 2328) is not HMAC-MD5: kept apart
    return m.replace("hmac", "")  # HMAC-SHA (RFC 5709) has one form


def _area_of(addr: str, networks: list[tuple[str, str, str]]) -> str | None:
    ip = ipaddress.IPv4Address(addr)
    for net, wild, area in networks:
        mask = ~int(ipaddress.IPv4Address(wild)) & 0xFFFFFFFF
        if int(ip) & mask == int(ipaddress.IPv4Address(net)) & mask:
            return area
    return None


def ospf_vendor(host: str, text: str, iface: str) -> OspfEnd:
    """Huawei VRP / H3C Comware: interface lines, area from `ospf N` / `area` / `network` statements."""
    bl = blocks(text, "#")
    lines = body(bl, f"interface {iface}")
    end = OspfEnd(host, iface)
    addr = value(lines, "ip address").split()[0]
    networks: list[tuple[str, str, str]] = []
    area_auth: dict[str, tuple[str, str]] = {}
    for h, b in bl:
        if re.fullmatch(r"ospf \d+( router-id \S+)?", h):
            area = None
            for x in b:
                if m := re.fullmatch(r" area (\S+)", x):
                    area = m.group(1)
                elif (m := re.fullmatch(r"  network (\S+) (\S+)", x)) and area:
                    networks.append((m.group(1), m.group(2), area))
                elif (m := re.fullmatch(r"  authentication-mode (\S+) (?:\d+ )?(?:cipher|plain|simple) (\S+)", x)) \
                        and area:
                    area_auth[area] = (_norm_mode(m.group(1)), m.group(2))
    end.area = _area_of(addr, networks)
    end.auth = area_auth.get(end.area or "")
    for x in lines:
        if m := re.fullmatch(r"ospf timer hello (\d+)", x):
            end.hello = int(m.group(1))
        elif m := re.fullmatch(r"ospf timer dead (\d+)", x):
            end.dead = int(m.group(1))
        elif m := re.fullmatch(r"ospf network-type (\S+)", x):
            end.network_type = {"p2p": "point-to-point", "broadcast": "broadcast"}[m.group(1)]
        elif m := re.fullmatch(r"ospf authentication-mode (\S+) (?:\d+ )?(?:cipher|plain|simple) (\S+)", x):
            end.auth = (_norm_mode(m.group(1)), m.group(2))
        elif "authentication" in x and x.startswith("ospf"):
            end.extra.append(x)
    return end


def _ios_style_ospf_line(end: OspfEnd, x: str, chains: dict[str, tuple[str, str]]) -> bool:
    """Read one `ip ospf ...` interface line that IOS and FRR write alike into `end`; False when it is not one."""
    if m := re.fullmatch(r"ip ospf (?:\d+ )?area (\S+)", x):
        end.area = m.group(1)
    elif m := re.fullmatch(r"ip ospf hello-interval (\d+)", x):
        end.hello = int(m.group(1))
    elif m := re.fullmatch(r"ip ospf dead-interval (\d+)", x):
        end.dead = int(m.group(1))
    elif x == "ip ospf network point-to-point":
        end.network_type = "point-to-point"
    elif m := re.fullmatch(r"ip ospf authentication key-chain (\S+)", x):
        end.auth = chains[m.group(1)]
    else:
        return False
    return True


def ospf_ios(host: str, text: str, iface: str) -> OspfEnd:
    bl = blocks(text, "!")
    lines = body(bl, f"interface {iface}")
    end = OspfEnd(host, iface)
    chains: dict[str, tuple[str, str]] = {}
    for h, b in bl:
        if h.startswith("key chain "):
            alg = next((x.split()[-1] for x in b if "cryptographic-algorithm" in x), "md5")
            key = next(x.split()[-1] for x in b if "key-string" in x)
            chains[h.split()[2]] = (_norm_mode(alg), key)
    for x in lines:
        if _ios_style_ospf_line(end, x, chains):
            continue
        if "authentication" in x and x.startswith("ip ospf"):
            end.extra.append(x)
    return end


def ospf_frr(host: str, text: str, iface: str) -> OspfEnd:
    end = OspfEnd(host, iface)
    section = text.split(f"\ninterface {iface}\n", 1)
    assert len(section) == 2, f"{host}: no interface {iface} in frr.conf"
    lines = [x.strip() for x in section[1].split("\nexit", 1)[0].splitlines()]
    chains: dict[str, tuple[str, str]] = {}
    for m in re.finditer(r"^key chain (\S+)\n((?: .*\n)+)", text, re.M):
        alg = re.search(r"cryptographic-algorithm (\S+)", m.group(2))
        key = re.search(r"key-string (\S+)", m.group(2))
        if key:
            chains[m.group(1)] = (_norm_mode(alg.group(1) if alg else "md5"), key.group(1))
    md5_key = None
    for x in lines:
        if _ios_style_ospf_line(end, x, chains):
            continue
        if m := re.fullmatch(r"ip ospf message-digest-key \d+ md5 (\S+)", x):
            md5_key = m.group(1)
        elif x == "ip ospf authentication message-digest":
            pass
        elif "authentication" in x:
            end.extra.append(x)
    if md5_key:
        end.auth = ("md5", md5_key)
    return end


def _ospf_end(built: Path, host: str, intent: dict, iface: str) -> OspfEnd:
    d = built / "configs" / host
    if intent["platform"] == "linux":
        return ospf_frr(host, (d / "etc" / "frr" / "frr.conf").read_text(), iface)
    text = (d / f"{host}.cfg").read_text()
    return ospf_ios(host, text, iface) if intent["platform"] == "cisco_ios" else ospf_vendor(host, text, iface)


def _ospf_mismatches(built: Path, attrs: tuple[str, ...]) -> tuple[list[str], set[str]]:
    intents = {p.stem: yaml.safe_load(p.read_text()) for p in (built / "intent").glob("*.yaml")}
    ends: dict[str, list[tuple[str, dict]]] = {}
    for host, d in intents.items():
        for i in d["interfaces"]:
            if i.get("ospf") and i.get("link") and i.get("address") and not i["ospf"].get("passive"):
                ends.setdefault(i["link"], []).append((host, i))
    pairs = {k: v for k, v in ends.items() if len(v) == 2}
    assert len(pairs) > 30, len(pairs)
    platforms = set()
    bad = []
    for link, ((h1, i1), (h2, i2)) in sorted(pairs.items()):
        a, b = _ospf_end(built, h1, intents[h1], i1["name"]), _ospf_end(built, h2, intents[h2], i2["name"])
        platforms |= {intents[h1]["platform"], intents[h2]["platform"]}
        for e in (a, b):
            if e.extra:
                bad.append(f"{link}: {e.host} {e.interface}: authentication form this test cannot read: {e.extra}")
            if e.area is None:
                bad.append(f"{link}: {e.host} {e.interface}: in no OSPF area")
        for attr in attrs:
            if getattr(a, attr) != getattr(b, attr):
                bad.append(f"{link}: {attr}: {h1} {i1['name']} {getattr(a, attr)!r} != "
                           f"{h2} {i2['name']} {getattr(b, attr)!r}")
        if ipaddress.IPv4Interface(i1["address"]).network != ipaddress.IPv4Interface(i2["address"]).network:
            bad.append(f"{link}: {i1['address']} and {i2['address']} are not on one subnet")
    return bad, platforms


def test_ospf_both_ends_of_every_link_agree(built):
    """Area, hello/dead, network type and the subnet on both interfaces of every OSPF link, every platform."""
    bad, platforms = _ospf_mismatches(built, ("area", "hello", "dead", "network_type"))
    assert not bad, "\n".join(bad[:30])
    assert {"huawei_vrp", "h3c_comware", "linux", "cisco_ios"} <= platforms


def test_ospf_authentication_agrees_on_every_link(built):
    """Authentication mode and key reference on both interfaces of every OSPF link."""
    bad, _ = _ospf_mismatches(built, ("auth",))
    assert not bad, "\n".join(bad[:30])


def test_ospf_comparison_can_fail(built):
    """A changed hello on one end of the core link is reported (the reader is not blind to timers)."""
    text = (built / "configs" / "yx-core-1" / "yx-core-1.cfg").read_text()
    changed = re.sub(r"(interface Vlanif3006\n(?: .*\n)*?) ospf timer hello 10\n", r"\1 ospf timer hello 5\n", text,
                     count=1)
    assert changed != text
    end = ospf_vendor("yx-core-1", changed, "Vlanif3006")
    other = ospf_vendor("yx-core-2", (built / "configs" / "yx-core-2" / "yx-core-2.cfg").read_text(), "Vlanif3006")
    assert (end.hello, other.hello) == (5, 10) and end.area == other.area == "0.0.0.0"


# ---------------------------------------------------------------- BGP

def test_city_bgp_session_matches_the_hand_off(built):
    """The city edge's rendered session: neighbour address and AS from the topology's uplink, our AS, and a
    local address on the neighbour's subnet."""
    topo_c = yaml.safe_load((built.parent / "topology" / "centre.yaml").read_text())
    county = yaml.safe_load((built.parent / "topology" / "county.yaml").read_text())
    (up,) = [u for u in topo_c["uplinks"] if u["kind"] == "city"]
    host = up["device"].split(":")[0]
    text = (built / "configs" / host / f"{host}.cfg").read_text()
    m = re.search(r"^router bgp (\d+)$", text, re.M)
    assert m, "no BGP on the city edge"
    assert int(m.group(1)) == _county_asn(county), (m.group(1), _county_asn(county))
    assert re.search(rf"^ neighbor {re.escape(up['peer'])} remote-as {up['peer_asn']}$", text, re.M)
    assert re.search(rf"^  neighbor {re.escape(up['peer'])} activate$", text, re.M)
    local = ipaddress.IPv4Interface(up["address"])
    mask = str(local.netmask)
    assert re.search(rf"^ ip address {re.escape(str(local.ip))} {re.escape(mask)}$", text, re.M)
    assert ipaddress.IPv4Address(up["peer"]) in local.network


def _county_asn(county: dict) -> int:
    found = [v for k, v in _walk(county) if k in ("asn", "bgp_asn", "local_asn")]
    assert len(set(found)) == 1, found
    return int(found[0])


def _walk(d: object):
    if isinstance(d, dict):
        for k, v in d.items():
            if isinstance(v, dict | list):
                yield from _walk(v)
            else:
                yield k, v
    elif isinstance(d, list):
        for v in d:
            yield from _walk(v)
