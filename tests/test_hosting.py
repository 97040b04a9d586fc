"""The hosting machine room (issue 14): placement through the lock, full racks refused at the server's line,
tenant isolation and publication proved by the exhaustive verifier on a real build, intranet/extranet
separation on the build's cabling graph, and the machine-room documents."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import countynet
from countynet.ipam.placement import place
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.machine_room import cabling_graph, separation
from countynet.topology.models import HostedServer
from countynet.verify.exhaustive import Checker
from countynet.verify.symbolic import TCP, Packet
from tests.conftest import TOPOLOGY, edit

COUNTYNET = [sys.executable, "-m", "countynet"]


@pytest.fixture(scope="module")
def topo():  # type: ignore[no-untyped-def]
    return countynet.load(TOPOLOGY)


def _with_units(t, change):  # type: ignore[no-untyped-def]
    """A copy of topology `t` whose units list is `change(units)`."""
    import dataclasses

    return dataclasses.replace(t, units=t.units.model_copy(update={"units": change(list(t.units.units))}))


def _hosted(t, unit_id, servers):  # type: ignore[no-untyped-def]
    def change(units):  # type: ignore[no-untyped-def]
        return [u.model_copy(update={"hosted": servers(list(u.hosted))}) if u.id == unit_id else u for u in units]
    return _with_units(t, change)


def _spot(pl, name):  # type: ignore[no-untyped-def]
    p = pl.servers[name]
    return (p.rack, p.u, p.ports, p.address, p.segment, p.vlan)


def test_placement_is_stable_under_remove_and_add(topo) -> None:  # type: ignore[no-untyped-def]
    first = place(topo, None)
    assert first.servers, "the bundled topology hosts servers"
    lock = first.lock()
    again = place(topo, lock)
    assert {n: _spot(again, n) for n in again.servers} == {n: _spot(first, n) for n in first.servers}

    # remove the server in the lowest extranet slot: nobody else moves
    victim = min((p for p in first.servers.values() if p.plane == "extranet"), key=lambda p: (p.rack, p.u))
    owner = next(u for u in topo.units.units if any(s.name == victim.name for s in u.hosted))
    removed = _hosted(topo, owner.id, lambda hs: [s for s in hs if s.name != victim.name])
    after = place(removed, lock)
    assert victim.name not in after.servers
    pool = "hosting_host" if victim.plane == "extranet" else "intranet_host"
    assert after.freed[pool][victim.address]["owner"] == victim.name  # held before reuse, like every pool's
    for n in after.servers:
        assert _spot(after, n) == _spot(first, n), n

    # add a new server: it takes the free slot (lowest free U, first free port), nobody else moves
    new = HostedServer(name="yx-fin-ex-2", plane="extranet", function="added in the test", services=["https"])
    added = _hosted(removed, "finance", lambda hs: [*hs, new])
    grown = place(added, after.lock())
    for n in after.servers:
        assert _spot(grown, n) == _spot(after, n), n
    p = grown.servers["yx-fin-ex-2"]
    assert (p.rack, p.u, p.ports) == (victim.rack, victim.u, victim.ports)
    assert ipaddress.IPv4Interface(p.address).ip in ipaddress.IPv4Network(grown.segments["extranet"]["finance"])


def test_placement_refuses_full_racks_per_resource(topo) -> None:  # type: ignore[no-untyped-def]
    from countynet.errors import TopologyError

    def big(**size):  # type: ignore[no-untyped-def]
        return _hosted(topo, "finance", lambda hs: [*hs, HostedServer(
            name="yx-fin-big", plane="extranet", function="too big", services=["https"], size=size)])

    for size, what in (({"watts": 4000}, "4000 W"), ({"u": 10, "watts": 100}, "10 U")):
        # space: fill every extranet rack's U first
        t = big(**size)
        if "u" in size:
            racks = t.centre.hosting.racks
            small = [r.model_copy(update={"units": 11}) if r.plane == "extranet" else r for r in racks]
            import dataclasses
            t = dataclasses.replace(t, centre=t.centre.model_copy(update={
                "hosting": t.centre.hosting.model_copy(update={"racks": small})}))
        with pytest.raises(TopologyError) as exc:
            place(t, None)
        d = exc.value.diagnostics[0]
        assert d.file.endswith("units.yaml") and what in d.message and "yx-fin-big" in d.message, d


def test_full_rack_refused_at_the_server_line_nothing_written(topo_copy: Path, tmp_path: Path) -> None:
    units = topo_copy / "units.yaml"
    edit(units, "services: [https], size: {u: 1, watts: 300}}]}",
         "services: [https], size: {u: 1, watts: 300}},\n"
         "              {name: yx-fin-huge, plane: extranet, function: storage, size: {u: 4, watts: 3500}}]}")
    line = next(i for i, text in enumerate(units.read_text(encoding="utf-8").splitlines(), 1) if "yx-fin-huge" in text)
    lock = (topo_copy / "addresses.lock.yaml").read_text(encoding="utf-8")
    out = tmp_path / "out"
    r = subprocess.run([*COUNTYNET, "build", str(topo_copy), "--out", str(out)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"units.yaml:{line}:" in r.stdout + r.stderr and "no extranet rack has room" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert (topo_copy / "addresses.lock.yaml").read_text(encoding="utf-8") == lock


@pytest.fixture(scope="module")
def checker(bundled_build: Path) -> Checker:
    ch = Checker(BuildReader(bundled_build))
    res = ch.run()
    assert not res.differences, [d["message"] for d in res.differences][:3]
    return ch


def _server_ip(build: Path, host: str) -> str:
    """The server's address (its one addressed interface)."""
    d = BuildReader(build).intent(host)
    assert d.server is not None, host
    return next(i.address for i in d.interfaces if i.address).split("/")[0]


def _lan_host(build: Path, unit: str) -> str:
    """An address inside a unit's LAN (its router's LAN gateway + 10)."""
    d = BuildReader(build).intent(f"yx-u-{unit}")
    lan = next(i.address for i in d.interfaces if i.zone == "unit-lan" and i.address)
    return str(ipaddress.IPv4Interface(lan).ip + 10)


def _admits(ch: Checker, src: str, dst: str, port: int) -> tuple[bool, bool]:
    """(may, must): does some path / every path admit a TCP SYN from src to dst:port?"""
    a = ch.endpoint_of(ipaddress.IPv4Address(src))
    assert a is not None, src
    pkt = Packet(TCP, ipaddress.IPv4Address(src), ipaddress.IPv4Address(dst), 40000, port, 2)
    return ch.e.contains(ch.may[id(a)], pkt), ch.e.contains(ch.must[id(a)], pkt)


def test_unit_reaches_its_own_hosted_server_not_anothers(checker: Checker, bundled_build: Path) -> None:
    fin, edu = _server_ip(bundled_build, "yx-fin-ex-1"), _server_ip(bundled_build, "yx-edu-ex-1")
    assert _admits(checker, _lan_host(bundled_build, "finance"), fin, 443) == (True, True)
    assert _admits(checker, _lan_host(bundled_build, "tax"), fin, 443) == (False, False)
    assert _admits(checker, _lan_host(bundled_build, "finance"), edu, 443) == (False, False)
    # tenant segments never reach each other, on any port
    for port in (443, 22, 5432):
        assert _admits(checker, fin, edu, port)[0] is False
        assert _admits(checker, edu, fin, port)[0] is False
    rules = json.loads((bundled_build / "policy" / "rules.json").read_text(encoding="utf-8"))
    assert any(inv["name"] == "hosting-tenants-isolated" for inv in rules["invariants"])


def test_extranet_server_reachable_from_internet_only_on_published_services(checker: Checker,
                                                                            bundled_build: Path) -> None:
    outside = "198.18.0.10"
    web = _server_ip(bundled_build, "yx-web-tourism")
    assert _admits(checker, outside, web, 443) == (True, True)
    assert _admits(checker, outside, web, 80) == (True, True)
    for port in (22, 25, 8443, 5432):
        assert _admits(checker, outside, web, port)[0] is False
    for host in ("yx-web-investment", "yx-fin-ex-1", "yx-edu-ex-1"):  # not published
        assert _admits(checker, outside, _server_ip(bundled_build, host), 443)[0] is False
    fw = BuildReader(bundled_build).intent("yx-fw-1")
    assert fw.nat is not None and any(s.inside == web for s in fw.nat.static)


def test_no_path_between_intranet_and_extranet_or_internet(bundled_build: Path) -> None:
    """Proved on the build's files: the cabling sheet plus every link the extranet's intents declare, as a graph;
    and no intranet address appears in any rendered configuration (no route, address or filter line)."""
    reader = BuildReader(bundled_build)
    rows = list(csv.reader(io.StringIO((bundled_build / "machine-room" / "cabling.csv").read_text(
        encoding="utf-8-sig"))))[1:]
    intents = reader.intents()
    g = cabling_graph(rows, intents)
    proof = separation(g)
    assert proof["proven"] and proof["intranet_components"], proof
    intranet = [r[2] for r in rows if r[7] == "intranet"]
    assert intranet and all(n not in intents for n in intranet)
    import networkx as nx
    for n in intranet:
        assert not nx.has_path(g, n, "internet") and not nx.has_path(g, n, "yx-core-1")
    # the mutation the proof must catch: a cable from the intranet switch to an extranet switch
    g.add_edge("yx-in-acc-1", "yx-acc-host-1")
    assert not separation(g)["proven"]
    pool = ipaddress.IPv4Network("172.30.0.0/20")
    first = ".".join(str(pool.network_address).split(".")[:2]) + "."
    for cfg in (bundled_build / "configs").rglob("*"):
        if cfg.is_file():
            assert first not in cfg.read_text(encoding="utf-8", errors="replace"), cfg


def test_machine_room_documents(bundled_build: Path) -> None:
    room = bundled_build / "machine-room"
    manifest = json.loads((bundled_build / "manifest.json").read_text(encoding="utf-8"))
    listed = set(manifest["files"])
    rows = list(csv.DictReader(io.StringIO((room / "cabling.csv").read_text(encoding="utf-8-sig"))))
    assert [c.split()[-1] for c in rows[0]] == ["rack", "u", "device", "port", "peer", "peer_port", "cable", "plane"]
    assert {r["设备 device"] for r in rows} >= {"yx-web-tourism", "yx-fin-in-1", "yx-acc-host-1"}
    assert len({r["线缆 cable"] for r in rows}) == len(rows)
    for svg in sorted((room / "racks").glob("*.svg")):
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg")
        assert f"machine-room/racks/{svg.name}" in listed
    assert {p.stem for p in (room / "racks").glob("*.svg")} == {"rack-e1", "rack-e2", "rack-i1"}
    cap = list(csv.reader(io.StringIO((room / "capacity.csv").read_text(encoding="utf-8-sig"))))
    racks = {r[1]: r for r in cap[1:] if r[0].endswith("rack")}
    assert all(int(r[2]) <= int(r[3]) and int(r[4]) <= int(r[5]) and int(r[6]) <= int(r[7]) for r in racks.values())
    sheet = (room / "hosting" / "finance.md").read_text(encoding="utf-8")
    assert sheet.index("托管服务器") < sheet.index("hosted servers") and "yx-fin-in-1" in sheet
    for rel in ("machine-room/cabling.csv", "machine-room/capacity.csv", "machine-room/hosting/finance.md",
                "machine-room/separation.json"):
        assert rel in listed


def test_address_pin_wins_and_a_pin_outside_the_segment_is_refused_at_its_line(topo) -> None:  # type: ignore[no-untyped-def]
    from countynet.errors import TopologyError

    first = place(topo, None)
    seg = ipaddress.IPv4Network(first.segments["extranet"]["finance"])
    want = f"{seg.network_address + 20}/32"

    def pin(address):  # type: ignore[no-untyped-def]
        return _hosted(topo, "finance", lambda hs: [s.model_copy(update={"address": address})
                                                    if s.name == "yx-fin-ex-1" else s for s in hs])

    pinned = place(pin(want), first.lock())
    assert pinned.servers["yx-fin-ex-1"].address == want
    others = {n: _spot(first, n) for n in first.servers if n != "yx-fin-ex-1"}
    assert {n: _spot(pinned, n) for n in others} == others
    with pytest.raises(TopologyError) as exc:
        place(pin("10.30.99.20/32"), first.lock())
    d = exc.value.diagnostics[0]
    assert d.file.endswith("units.yaml") and d.path.endswith("address") and "outside" in d.message, d


def test_intranet_rack_on_an_extranet_switch_and_untrunked_switch_refused(topo_copy: Path) -> None:
    from countynet.errors import TopologyError

    centre = topo_copy / "centre.yaml"
    edit(centre, '  - {a: "yx-acc-host-1:uplink", b: "yx-core-1:downlink", type: trunk, vlans: [management]}\n', "")
    edit(centre, '  - {a: "yx-acc-host-1:uplink", b: "yx-core-2:downlink", type: trunk, vlans: [management]}\n', "")
    edit(centre, "switch: yx-in-acc-1,", "switch: yx-acc-host-2,")
    with pytest.raises(TopologyError) as exc:
        countynet.load(topo_copy)
    text = exc.value.render()
    lines = centre.read_text(encoding="utf-8").splitlines()
    e1 = next(i for i, ln in enumerate(lines, 1) if "name: rack-e1" in ln)
    i1 = next(i for i, ln in enumerate(lines, 1) if "name: rack-i1" in ln)
    assert f"centre.yaml:{e1}:" in text and "yx-acc-host-1 has no trunk to a core switch" in text, text
    assert f"centre.yaml:{i1}:" in text and "must be physically separate" in text, text
