"""The symbolic packet-filter engine (countynet.verify.symbolic) on hand-made filters, paths and firewalls, and
cross-checked against concrete first-match evaluation of random packets through random filters."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from countynet.verify import symbolic
from countynet.verify.symbolic import (
    ACK,
    FIN,
    RST,
    SYN,
    EmptySpace,
    Engine,
    Filter,
    FlagTest,
    Label,
    Line,
    Match,
    Packet,
    Path,
    PortRange,
    Stateful,
    concrete,
)

BACKENDS = ["cudd", "autoref"]
ACTIONS: list[symbolic.Action] = ["permit", "deny"]


@pytest.fixture(scope="module", params=BACKENDS)
def eng(request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = Engine(request.param)
    yield engine
    engine.close()


def tcp(src: str, dst: str, dport: int, sport: int = 40000, flags: str | int = "S") -> Packet:
    return Packet.of("tcp", src, dst, sport=sport, dport=dport, flags=flags)


def union(eng: Engine, parts: list[symbolic.BDD]) -> symbolic.BDD:
    u = eng.false
    for p in parts:
        u = u | p
    return u


SSH = Match.of(src="10.30.96.0/20", dst="10.30.0.0/24", protocol="tcp", dport=22)


def lan_filter(name: str = "lan-in", swap: int | None = None, drop: int | None = None,
               dport: str = "8000-8080", default: symbolic.Action = "deny") -> Filter:
    """A small LAN ingress filter; `swap` flips one line's action, `drop` removes one line."""
    lines: list[tuple[symbolic.Action, Match, str]] = [
        ("deny", Match.of(src="10.30.96.0/20", dst="10.30.0.5/32", protocol="tcp", dport=22), "no-ssh-to-nms"),
        ("permit", SSH, "ssh-to-mgmt"),
        ("permit", Match.of(src="10.30.96.0/20", dst="10.30.1.0/24", protocol="tcp", dport=dport), "app"),
        ("permit", Match.of(src="10.30.96.0/20", protocol="tcp", sport="1-1023", established=True), "replies"),
        ("permit", Match.of(src="10.30.96.0/20", protocol="icmp", icmp_type=8), "ping"),
        ("deny", Match.of(), "deny-rest"),
    ]
    if swap is not None:
        action, match, rule = lines[swap]
        lines[swap] = ("deny" if action == "permit" else "permit", match, rule)
    if drop is not None:
        del lines[drop]
    return Filter.of(name, lines, default=default, device="town-sw1")


# -- first match, mutations and counterexamples ----------------------------------------------------------------


def test_a_deny_before_a_permit_wins_and_the_order_matters(eng: Engine) -> None:
    deny = Match.of(src="10.30.96.0/24", protocol="tcp", dport=22)
    permit = Match.of(protocol="tcp", dport=22)
    deny_first = eng.admitted(Filter.of("a", [("deny", deny), ("permit", permit)]))
    permit_first = eng.admitted(Filter.of("b", [("permit", permit), ("deny", deny)]))

    assert deny_first == eng.space(permit) & ~eng.space(deny)
    assert permit_first == eng.space(permit)
    assert not eng.contains(deny_first, tcp("10.30.96.9", "10.30.0.1", 22))
    assert eng.contains(deny_first, tcp("10.30.97.9", "10.30.0.1", 22))
    assert eng.contains(permit_first, tcp("10.30.96.9", "10.30.0.1", 22))
    assert not eng.contains(permit_first, tcp("10.30.96.9", "10.30.0.1", 23))


def test_a_swapped_permit_and_deny_is_found_with_a_counterexample_and_its_lines(eng: Engine) -> None:
    good, bad = lan_filter(), lan_filter(name="lan-in", swap=1)
    diff = eng.compare(eng.admitted(good), eng.admitted(bad))

    assert not diff.equal
    assert eng.is_empty(diff.only_b)
    # exactly the swapped line's packets that the earlier deny line does not take
    assert diff.only_a == eng.space(SSH) & ~eng.space(good.lines[0].match)
    assert [str(r) for r in eng.summarise(diff.only_a)] == ["10.30.96.0/20 -> 10.30.0.0/24 except 10.30.0.5/32 tcp/22"]
    packet = eng.example(diff.only_a)
    assert packet == tcp("10.30.96.1", "10.30.0.1", 22, sport=1024)
    assert concrete.decide(good, packet) == "permit" and concrete.decide(bad, packet) == "deny"
    steps = eng.explain(packet, Path((bad,)))
    assert [(s.hop, s.label, s.action, s.how) for s in steps] == [
        ("lan-in", Label("town-sw1", "lan-in", 2, "ssh-to-mgmt"), "deny", "line")
    ]
    assert str(steps[0]) == "lan-in: deny town-sw1 lan-in line 2 (ssh-to-mgmt)"


def test_a_dropped_final_deny_is_found_when_the_default_permits(eng: Engine) -> None:
    # Huawei and H3C packet filters permit what no rule matches: the final deny carries the policy.
    good = lan_filter(default="permit")
    bad = lan_filter(default="permit", drop=5)
    diff = eng.compare(eng.admitted(good), eng.admitted(bad))

    assert eng.is_empty(diff.only_a)
    assert diff.only_b == eng.valid & ~union(eng, [eng.space(line.match) for line in good.lines[:5]])
    packet = eng.example(diff.only_b)
    assert packet == tcp("0.0.0.1", "0.0.0.1", 0, sport=1024)
    steps = eng.explain(packet, Path((bad,)))
    assert [(s.label, s.action, s.how) for s in steps] == [(None, "permit", "default")]
    # with the default deny of Cisco ACLs the same line is redundant
    cisco = eng.compare(eng.admitted(lan_filter()), eng.admitted(lan_filter(drop=5)))
    assert cisco.equal


def test_a_narrowed_port_range_is_found_with_the_boundary_packet(eng: Engine) -> None:
    wide, narrow = lan_filter(), lan_filter(dport="8000-8079")
    diff = eng.compare(eng.admitted(wide), eng.admitted(narrow))

    assert eng.is_empty(diff.only_b)
    # port 8080, except what the later reply line still admits
    port_8080 = eng.space(Match.of(src="10.30.96.0/20", dst="10.30.1.0/24", protocol="tcp", dport=8080))
    assert diff.only_a == port_8080 & ~eng.space(wide.lines[3].match)
    assert eng.example(diff.only_a) == tcp("10.30.96.1", "10.30.1.1", 8080, sport=1024)
    assert [str(r) for r in eng.summarise(diff.only_a)] == [
        "10.30.96.0/20 -> 10.30.1.0/24 tcp/8080 from port not 1-1023",
        "10.30.96.0/20 -> 10.30.1.0/24 tcp/8080 not established",
    ]
    app = eng.space(wide.lines[2].match)
    ports = {p.dport for p in eng.boundary_packets(app)}
    assert ports == {8000, 8080}
    assert {p.dport for p in eng.boundary_packets(eng.space(narrow.lines[2].match))} == {8000, 8079}


def test_established_admits_ack_or_rst_but_not_a_syn(eng: Engine) -> None:
    replies = eng.admitted(Filter.of("r", [("permit", Match.of(protocol="tcp", sport=22, established=True))]))
    ok = [flags for flags in range(64) if eng.contains(replies, tcp("10.0.0.1", "10.0.0.2", 40000, 22, flags))]

    assert eng.contains(replies, Packet.of("tcp", "10.0.0.1", "10.0.0.2", sport=22, dport=40000, flags="A"))
    assert eng.contains(replies, Packet.of("tcp", "10.0.0.1", "10.0.0.2", sport=22, dport=40000, flags="SA"))
    assert eng.contains(replies, Packet.of("tcp", "10.0.0.1", "10.0.0.2", sport=22, dport=40000, flags="R"))
    assert not eng.contains(replies, Packet.of("tcp", "10.0.0.1", "10.0.0.2", sport=22, dport=40000, flags="S"))
    assert not eng.contains(replies, Packet.of("tcp", "10.0.0.1", "10.0.0.2", sport=22, dport=40000, flags="F"))
    assert ok == [f for f in range(64) if f & (ACK | RST)]
    assert len(ok) == 48

    syn = eng.space(Match.of(protocol="tcp", syn=True))
    assert eng.contains(syn, tcp("10.0.0.1", "10.0.0.2", 22, flags="S"))
    assert eng.contains(syn, tcp("10.0.0.1", "10.0.0.2", 22, flags="SF"))
    assert not eng.contains(syn, tcp("10.0.0.1", "10.0.0.2", 22, flags="SA"))
    assert eng.example(syn).flags == SYN
    assert eng.example(replies).flags == ACK


def test_icmp_type_and_code_matching(eng: Engine) -> None:
    echo = eng.space(Match.of(protocol="icmp", icmp_type=8))
    unreachable = eng.space(Match.of(protocol="icmp", icmp_type=3, icmp_code=4))

    def icmp(t: int, c: int = 0) -> Packet:
        return Packet.of("icmp", "10.0.0.1", "10.0.0.2", icmp_type=t, icmp_code=c)

    assert eng.contains(echo, icmp(8)) and eng.contains(echo, icmp(8, 1))
    assert not eng.contains(echo, icmp(0)) and not eng.contains(echo, tcp("10.0.0.1", "10.0.0.2", 8))
    assert eng.contains(unreachable, icmp(3, 4)) and not eng.contains(unreachable, icmp(3, 3))
    assert eng.example(echo) == Packet.of("icmp", "0.0.0.1", "0.0.0.1", icmp_type=8)
    assert [str(r) for r in eng.summarise(unreachable)] == ["any -> any icmp type 3 code 4"]
    # 2^64 address pairs x 256 codes of one type
    assert eng.count(echo) == 2**64 * 256


def test_a_path_admits_the_intersection_of_its_filters(eng: Engine) -> None:
    village = Filter.of("village-in", [("permit", Match.of(src="10.30.96.0/24", protocol="tcp", dport="20-30")),
                                        ("deny", Match.of())], device="village-cpe")
    township = Filter.of("town-in", [("deny", Match.of(protocol="tcp", dport=23)),
                                      ("permit", Match.of(dst="10.30.0.0/16"))], device="town-sw")
    path = Path((village, township))
    u = eng.path_admitted(path)

    assert u == eng.admitted(village) & eng.admitted(township)
    assert [str(r) for r in eng.summarise(u)] == ["10.30.96.0/24 -> 10.30.0.0/16 tcp/20-22,24-30"]
    telnet = tcp("10.30.96.7", "10.30.0.9", 23)
    assert eng.contains(eng.admitted(village), telnet) and not eng.contains(u, telnet)
    steps = eng.explain(telnet, path)
    assert [(s.hop, s.label, s.action) for s in steps] == [
        ("village-in", Label("village-cpe", "village-in", 1), "permit"),
        ("town-in", Label("town-sw", "town-in", 1), "deny"),
    ]
    outside = tcp("10.30.96.7", "192.0.2.1", 22)
    assert [s.how for s in eng.explain(outside, path)] == ["line", "default"]
    assert eng.path_admitted(Path(())) == eng.valid


def test_a_stateful_firewall_admits_new_connections_by_policy_and_replies_of_admitted_ones(eng: Engine) -> None:
    inside = "10.30.0.0/16"
    outbound = Filter.of("trust-untrust", [("permit", Match.of(src=inside, protocol="tcp", dport=443), "web"),
                                           ("permit", Match.of(src=inside, protocol="icmp", icmp_type=8), "ping"),
                                           ("permit", Match.of(src=inside, protocol="udp", dport=53), "dns")])
    inbound = Filter.of("untrust-trust", [("permit", Match.of(dst="10.30.8.10/32", protocol="tcp", dport=25))])
    fw = Stateful("fw untrust->trust", policy=inbound, reverse=outbound, device="fw1")
    u = eng.path_admitted(Path((fw,)))

    reply = Packet.of("tcp", "203.0.113.5", "10.30.1.2", sport=443, dport=51000, flags="SA")
    assert eng.contains(u, reply)
    # any flags of an admitted connection come back (over-approximation: a reply-shaped SYN too)
    assert eng.contains(u, Packet.of("tcp", "203.0.113.5", "10.30.1.2", sport=443, dport=51000, flags="S"))
    assert not eng.contains(u, tcp("203.0.113.5", "10.30.1.2", 443))  # new connection inwards on 443: no
    assert eng.contains(u, tcp("203.0.113.5", "10.30.8.10", 25))  # the published mail server
    echo_reply = Packet.of("icmp", "203.0.113.5", "10.30.1.2", icmp_type=0)
    assert eng.contains(u, echo_reply)
    assert not eng.contains(u, Packet.of("icmp", "203.0.113.5", "10.30.1.2", icmp_type=8))
    assert eng.contains(u, Packet.of("udp", "198.51.100.53", "10.30.1.2", sport=53, dport=5353))
    assert not eng.contains(u, Packet.of("udp", "198.51.100.53", "10.30.1.2", sport=54, dport=5353))
    assert u == eng.admitted(inbound) | eng.replies(eng.admitted(outbound))

    steps = eng.explain(reply, Path((fw,)))
    assert [(s.label, s.action, s.how) for s in steps] == [
        (Label("", "trust-untrust", 1, "web"), "permit", "reply")
    ]
    assert [str(r) for r in eng.summarise(eng.replies(eng.admitted(outbound)))] == [
        "any -> 10.30.0.0/16 icmp type 0",
        "any -> 10.30.0.0/16 tcp from port 443",
        "any -> 10.30.0.0/16 udp from port 53",
    ]


def test_replies_swap_addresses_and_ports_exactly(eng: Engine) -> None:
    syn = tcp("10.0.0.1", "10.0.0.2", 443, sport=1024)
    back = eng.replies(eng.packet_space(syn))
    assert eng.count(back) == 64
    assert set(concrete.replies(syn)) == {
        Packet.of("tcp", "10.0.0.2", "10.0.0.1", sport=443, dport=1024, flags=f) for f in range(64)
    }
    assert all(eng.contains(back, p) for p in concrete.replies(syn))
    timestamp = Packet.of("icmp", "10.0.0.1", "10.0.0.2", icmp_type=13, icmp_code=0)
    assert eng.replies(eng.packet_space(timestamp)) == eng.packet_space(
        Packet.of("icmp", "10.0.0.2", "10.0.0.1", icmp_type=14))
    unreachable = Packet.of("icmp", "10.0.0.1", "10.0.0.2", icmp_type=3)
    assert eng.is_empty(eng.replies(eng.packet_space(unreachable)))
    gre = Packet.of("gre", "10.0.0.1", "10.0.0.2")
    assert eng.replies(eng.packet_space(gre)) == eng.packet_space(Packet.of(47, "10.0.0.2", "10.0.0.1"))


# -- examples, regions and counts ------------------------------------------------------------------------------


def test_examples_are_readable_and_can_be_taken_at_the_high_end(eng: Engine) -> None:
    u = eng.space(SSH)
    assert eng.example(u) == tcp("10.30.96.1", "10.30.0.1", 22, sport=1024)
    high = eng.example(u, high=["src", "dst", "sport", "flags"])
    assert (str(high.src), str(high.dst), high.sport, high.flags) == ("10.30.111.254", "10.30.0.254", 65535, 63)
    host = eng.space(Match.of(dst="10.30.0.5/32", protocol="udp", sport=53))
    assert eng.example(host) == Packet.of("udp", "0.0.0.1", "10.30.0.5", sport=53, dport=0)
    with pytest.raises(EmptySpace):
        eng.example(eng.false)
    with pytest.raises(ValueError, match="unknown fields"):
        eng.example(u, high=["port"])


def test_summarise_gives_the_expected_regions(eng: Engine) -> None:
    flt = lan_filter()
    regions = eng.summarise(eng.admitted(flt))
    # the deny of SSH to the NMS host (line 1) also takes the replies to it that carry port 22
    assert [str(r) for r in regions] == [
        "10.30.96.0/20 -> any icmp type 8",
        "10.30.96.0/20 -> any except 10.30.0.5/32 tcp from port 1-1023 established",
        "10.30.96.0/20 -> any tcp/not 22 from port 1-1023 established",
        "10.30.96.0/20 -> 10.30.0.0/24 except 10.30.0.5/32 tcp/22",
        "10.30.96.0/20 -> 10.30.1.0/24 tcp/8000-8080",
    ]
    assert len(eng.summarise(eng.admitted(flt), disjoint=True)) == 6
    r = regions[4]
    assert r.src_networks == (ipaddress.IPv4Network("10.30.96.0/20"),)
    assert r.protocols == (6,) and r.dport == ((8000, 8080),)
    # the union of the regions is exactly the set, in both forms; the disjoint form is a partition
    for disjoint in (False, True):
        parts = [eng.region_space(x) for x in eng.summarise(eng.admitted(flt), disjoint=disjoint)]
        assert union(eng, parts) == eng.admitted(flt)
    parts = [eng.region_space(x) for x in eng.summarise(eng.admitted(flt), disjoint=True)]
    assert all(eng.is_empty(a & b) for i, a in enumerate(parts) for b in parts[i + 1:])
    assert eng.summarise(eng.false) == []
    limit, eng.cover_limit = eng.cover_limit, 0  # above the limit: the disjoint partition, not widened
    try:
        assert eng.summarise(eng.admitted(flt)) == eng.summarise(eng.admitted(flt), disjoint=True)
    finally:
        eng.cover_limit = limit
    assert [str(x) for x in eng.summarise(eng.valid)] == ["any -> any ip"]


def test_summarise_names_complements_and_keeps_protocol_conditions_readable(eng: Engine) -> None:
    flt = Filter.of("g", [("deny", Match.of(protocol="tcp", dport=22)), ("deny", Match.of(dst="10.30.96.0/20")),
                          ("permit", Match.of())])
    assert [str(r) for r in eng.summarise(eng.admitted(flt))] == [
        "any -> any except 10.30.96.0/20 0-5,7-255",
        "any -> any except 10.30.96.0/20 tcp/not 22",
    ]


def test_counts_are_exact_packet_counts(eng: Engine) -> None:
    m = Match.of(src="10.0.0.0/24", dst="10.0.0.1/32", protocol="tcp", dport=22, established=True)
    assert eng.count(eng.space(m)) == 256 * 1 * 65536 * 48
    assert eng.count(eng.space(Match.of(protocol="gre"))) == 2**64
    # per address pair: tcp ports x flags, udp ports, icmp type x code, one packet of each other protocol
    assert eng.count(eng.valid) == 2**64 * (2**32 * 64 + 2**32 + 256 * 256 + 253)


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="port conditions"):
        Match.of(protocol="icmp", dport=22)
    with pytest.raises(ValueError, match="flag"):
        Match.of(protocol="udp", established=True)
    with pytest.raises(ValueError, match="ICMP"):
        Match.of(protocol="tcp", icmp_type=8)
    with pytest.raises(ValueError, match="port range"):
        PortRange(10, 5)
    with pytest.raises(ValueError):
        Match.of(dst="10.0.0.1/24")  # host bits set: a typo, not a prefix
    with pytest.raises(ValueError, match="no ports"):
        Packet.of("icmp", "10.0.0.1", "10.0.0.2", dport=1)
    with pytest.raises(ValueError, match="unknown protocol"):
        Match.of(protocol="sctpx")


def test_module_functions_use_one_engine() -> None:
    flt = lan_filter()
    u = symbolic.admitted(flt)
    assert u == symbolic.path_admitted(Path((flt,)))
    assert symbolic.compare(u, symbolic.space(SSH)).only_b == symbolic.space(flt.lines[0].match)
    packet = symbolic.example(symbolic.space(flt.lines[2].match))
    assert [s.label for s in symbolic.explain(packet, Path((flt,)))] == [flt.lines[2].label]
    assert [str(r) for r in symbolic.summarise(symbolic.space(SSH))] == ["10.30.96.0/20 -> 10.30.0.0/24 tcp/22"]
    assert {p.dport for p in symbolic.boundary_packets(symbolic.space(SSH))} == {22}


# -- random filters against concrete evaluation ----------------------------------------------------------------

POOL = ["0.0.0.0/0", "10.0.0.0/8", "10.30.0.0/15", "10.30.0.0/16", "10.30.96.0/20", "10.30.100.0/24",
        "10.30.100.7/32", "10.30.100.8/31", "192.168.1.0/24"]
PORTS = [0, 1, 21, 22, 23, 53, 1023, 1024, 8000, 8079, 8080, 8081, 65534, 65535]


@st.composite
def matches(draw: st.DrawFn) -> Match:
    protocol = draw(st.sampled_from([None, 1, 6, 17, 47]))
    prefixes = st.none() | st.lists(st.sampled_from(POOL), min_size=1, max_size=2).map(tuple)
    src, dst = draw(prefixes), draw(prefixes)
    port = st.integers(0, 65535) | st.sampled_from(PORTS)
    ranges = st.none() | st.lists(st.tuples(port, port).map(lambda t: (min(t), max(t))), min_size=1, max_size=2)
    sport = dport = flags = icmp_type = icmp_code = None
    if protocol in (6, 17):
        sport, dport = draw(ranges), draw(ranges)
    if protocol == 6:
        mask = st.integers(0, 63)
        flags = draw(st.sampled_from([None, symbolic.ESTABLISHED, symbolic.INITIAL_SYN])
                     | st.lists(mask.flatmap(lambda m: st.integers(0, 63).map(lambda v: FlagTest(m, v & m))),
                                min_size=1, max_size=2).map(tuple))
    if protocol == 1:
        icmp_type = draw(st.none() | st.sampled_from([0, 3, 8, 11]))
        if icmp_type is not None:
            icmp_code = draw(st.none() | st.sampled_from([0, 1, 4]))
    return Match.of(src=src, dst=dst, protocol=protocol, sport=sport, dport=dport, tcp_flags=flags,
                    icmp_type=icmp_type, icmp_code=icmp_code)


@st.composite
def filters(draw: st.DrawFn, name: str = "f") -> Filter:
    lines = draw(st.lists(st.tuples(st.sampled_from(ACTIONS), matches()), min_size=0, max_size=8))
    return Filter(name, tuple(Line(a, m, Label("dev", name, i)) for i, (a, m) in enumerate(lines, 1)),
                  draw(st.sampled_from(ACTIONS)))


def _address(draw: st.DrawFn) -> str:
    net = ipaddress.IPv4Network(draw(st.sampled_from(POOL)))
    first, last = int(net.network_address), int(net.broadcast_address)
    value = draw(st.sampled_from([first, first + 1, last, last + 1, first - 1]) | st.integers(first, last))
    return str(ipaddress.IPv4Address(value % 2**32))


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    protocol = draw(st.sampled_from([1, 6, 17, 47, 89]))
    port = st.sampled_from(PORTS) | st.integers(0, 65535)
    sport, dport = (draw(port), draw(port)) if protocol in (6, 17) else (0, 0)
    flags = draw(st.integers(0, 63)) if protocol == 6 else 0
    icmp_type = draw(st.sampled_from([0, 3, 8, 11, 13, 14]) | st.integers(0, 255)) if protocol == 1 else 0
    icmp_code = draw(st.sampled_from([0, 1, 4]) | st.integers(0, 255)) if protocol == 1 else 0
    return Packet.of(protocol, _address(draw), _address(draw), sport=sport, dport=dport, flags=flags,
                     icmp_type=icmp_type, icmp_code=icmp_code)


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(flt=filters(), probes=st.lists(packets(), min_size=20, max_size=40))
def test_the_bdd_of_a_random_filter_agrees_with_first_match_evaluation(eng: Engine, flt: Filter,
                                                                         probes: list[Packet]) -> None:
    u = eng.admitted(flt)
    # random packets near the pool's boundaries, plus the engine's own examples of what it admits and refuses
    for packet in probes:
        assert eng.contains(u, packet) == (concrete.decide(flt, packet) == "permit"), packet
    for part in (u, eng.valid & ~u):
        if not eng.is_empty(part):
            for packet in [eng.example(part), eng.example(part, high=["src", "dst", "dport", "sport"])]:
                assert eng.contains(part, packet)
                assert (concrete.decide(flt, packet) == "permit") == (part == u)
    regions = eng.summarise(u)
    assert union(eng, [eng.region_space(r) for r in regions]) == u


@FUZZ
@given(first=filters("one"), policy=filters("policy"), reverse=filters("reverse"),
       probes=st.lists(packets(), min_size=20, max_size=40))
def test_the_bdd_of_a_random_path_with_a_firewall_agrees_with_concrete_evaluation(
        eng: Engine, first: Filter, policy: Filter, reverse: Filter, probes: list[Packet]) -> None:
    path = Path((first, Stateful("fw", policy, reverse)))
    u = eng.path_admitted(path)
    replies = [r for p in probes for r in concrete.replies(p)][:200]
    for packet in probes + replies:
        assert eng.contains(u, packet) == concrete.admits(path, packet), packet
        steps = eng.explain(packet, path)
        assert (all(s.action == "permit" for s in steps) and len(steps) == 2) == eng.contains(u, packet)


@FUZZ
@given(a=filters("a"), b=filters("b"), probes=st.lists(packets(), min_size=10, max_size=20))
def test_compare_finds_exactly_the_packets_two_random_filters_disagree_on(
        eng: Engine, a: Filter, b: Filter, probes: list[Packet]) -> None:
    diff = eng.compare(eng.admitted(a), eng.admitted(b))
    for packet in probes:
        verdicts = (concrete.decide(a, packet), concrete.decide(b, packet))
        assert eng.contains(diff.only_a, packet) == (verdicts == ("permit", "deny"))
        assert eng.contains(diff.only_b, packet) == (verdicts == ("deny", "permit"))
    for part, expected in ((diff.only_a, ("permit", "deny")), (diff.only_b, ("deny", "permit"))):
        for packet in [] if eng.is_empty(part) else eng.boundary_packets(part)[:6]:
            assert (concrete.decide(a, packet), concrete.decide(b, packet)) == expected
    assert diff.equal == (eng.is_empty(diff.only_a) and eng.is_empty(diff.only_b))


def test_flag_constants_are_the_tcp_header_bits() -> None:
    assert (FIN, SYN, RST, ACK) == (1, 2, 4, 16)
    assert Packet.of("tcp", "10.0.0.1", "10.0.0.2", flags="SA").flags == SYN | ACK
