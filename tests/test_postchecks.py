"""Post-check decisions against vendor-format samples (tests/samples/postchecks, written for these tests in
each vendor's documented layout), never against text the simulator wrote (issue 11 part 6).

cisco_ios (all three commands), huawei_vrp `display bgp peer` and hp_comware `display bgp peer ipv4` go
through ntc-templates' TextFSM templates; Huawei/H3C OSPF tables and pings are parsed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from countynet.deploy import postcheck as pc

S = Path(__file__).parent / "samples" / "postchecks"


def sample(name: str) -> str:
    return (S / f"{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(("platform", "name", "full", "not_full"), [
    ("huawei_vrp", "huawei_vrp_display_ospf_peer_brief", {"10.255.0.2", "10.255.0.4"}, {"10.255.0.3"}),
    ("hp_comware", "hp_comware_display_ospf_peer", {"10.255.0.1"}, {"10.255.0.7", "10.255.0.8"}),
    ("cisco_ios", "cisco_ios_show_ip_ospf_neighbor", {"10.255.0.1", "10.255.0.10"}, {"10.255.0.9"}),
])
def test_ospf_full_vs_not_full(platform: str, name: str, full: set[str], not_full: set[str]) -> None:
    nbrs = pc.ospf_neighbors(platform, sample(name))
    ids = {k.split("@")[0]: v for k, v in nbrs.items()}
    assert set(ids) == full | not_full                   # every row read, none invented
    assert {n for n, s in ids.items() if s.lower().startswith("full")} == full
    assert pc.ospf_full(platform, sample(name)) == len(full)


@pytest.mark.parametrize(("platform", "name", "up", "down"), [
    ("huawei_vrp", "huawei_vrp_display_bgp_peer", {"10.255.0.2"}, {"10.255.0.3": "Idle"}),
    ("hp_comware", "hp_comware_display_bgp_peer_ipv4", {"10.255.0.1"}, {"10.255.0.2": "Active"}),
    ("cisco_ios", "cisco_ios_show_ip_bgp_summary", {"10.255.0.1"}, {"10.255.0.2": "Idle"}),
])
def test_bgp_established_vs_idle(platform: str, name: str, up: set[str], down: dict[str, str]) -> None:
    peers = pc.bgp_peers(platform, sample(name))
    assert {p: s for p, s in peers.items() if p in down} == down
    assert pc.bgp_established(platform, sample(name)) == up


@pytest.mark.parametrize(("platform", "name", "sent", "recv", "ok"), [
    ("huawei_vrp", "huawei_vrp_ping_partial", 2, 1, True),
    ("huawei_vrp", "huawei_vrp_ping_lost", 2, 0, False),
    ("hp_comware", "hp_comware_ping_ok", 2, 2, True),
    ("hp_comware", "hp_comware_ping_lost", 2, 0, False),
    ("cisco_ios", "cisco_ios_ping_ok", 2, 1, True),
    ("cisco_ios", "cisco_ios_ping_lost", 2, 0, False),
])
def test_ping_loss(platform: str, name: str, sent: int, recv: int, ok: bool) -> None:
    assert pc.ping_result(platform, sample(name)) == (sent, recv)
    assert pc.ping_ok(platform, sample(name)) is ok


@pytest.mark.parametrize("platform", ["huawei_vrp", "hp_comware", "cisco_ios"])
def test_unreadable_output_is_not_a_pass(platform: str) -> None:
    junk = "Error: Unrecognized command found at '^' position."
    with pytest.raises(pc.Unparsed):
        pc.ping_result(platform, junk)
    with pytest.raises(pc.Unparsed):
        pc.bgp_peers(platform, junk)
    with pytest.raises(pc.Unparsed):
        pc.ospf_neighbors(platform, junk)


def test_empty_tables_mean_no_neighbour() -> None:
    vrp = sample("huawei_vrp_display_ospf_peer_brief").splitlines()
    header_only = "\n".join(line for line in vrp if "GigabitEthernet" not in line and "Vlanif" not in line)
    assert pc.ospf_full("huawei_vrp", header_only.replace("Total Peer(s):     3", "Total Peer(s):     0")) == 0
