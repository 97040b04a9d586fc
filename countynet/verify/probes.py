"""Draw the lab's probe set from the exhaustive check's regions (issue 12 part 7: one truth, three engines).

For every pair of endpoints the lab scope reaches, the admitted space is split into regions (`Engine.summarise`):
what the policy admits as new connections, plus what the network admits beyond the policy or drops within it.
Each region gets one packet inside it; the last port of its port range is a boundary probe; the ports just
outside the range, the other of tcp/udp and the same service to another host are counterexamples when they are
denied. A pair the policy does not connect gets one denied packet. Probes per pair are bounded (`max_per_pair`);
regions left without a probe are listed with the reason (the bound, or a kind of packet the lab cannot send).

The lab sends connection openings only: TCP with SYN alone, a UDP datagram (answered by an echo), ICMP echo
(type 8 code 0); ports 1-65535. Probe addresses are the lab's: a free host of a segment (the lab lends it to the
segment's probe host), a server's own address, the lab's internet and city hosts (`countynet.outputs.probes`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Collection

from countynet.outputs.flows import ALLOWED, DENIED
from countynet.outputs.probes import BOUNDARY, COUNTER, INSIDE, Probe, ProbeSet, Region, city_host, internet_host
from countynet.verify.exhaustive import Checker, Endpoint
from countynet.verify.symbolic import BDD, ICMP, SYN, TCP, UDP, Packet
from countynet.verify.symbolic.model import protocol_name

DEFAULT_MAX_PER_PAIR = 8
ECHO, ECHO_REPLY = 8, 0


def sendable(c: Checker) -> BDD:
    """The packets the lab can send as probes: TCP with exactly SYN, UDP, ICMP echo (type 8 code 0); ports >= 1."""
    e = c.e
    ports = e.interval("dport", 1, 65535) & e.interval("sport", 1, 65535)
    tcp = e.value("protocol", TCP) & e.value("flags", SYN) & ports
    udp = e.value("protocol", UDP) & ports
    echo = e.value("protocol", ICMP) & e.value("icmp_type", ECHO) & e.value("icmp_code", 0)
    return (tcp | udp | echo) & e.valid


def in_lab(c: Checker, ep: Endpoint, hosts: Collection[str]) -> bool:
    """True when the lab scope `hosts` gives `ep` a probe host: a gateway of the segment, a zone firewall (the
    internet), a city edge (the city) in scope."""
    if ep.kind == "internet":
        return any(h in hosts for h, _i, _o in c.fws)
    if ep.kind == "city":
        return any(h in hosts for h, _i, _o in c.edges)
    return any(g in hosts for g, _ in ep.gateways)


class Drawer:
    """Draws the probes of one checker (after `Checker.run()`)."""

    def __init__(self, c: Checker, hosts: Collection[str], max_per_pair: int = DEFAULT_MAX_PER_PAIR) -> None:
        self.c, self.e = c, c.e
        self.hosts = set(hosts)
        self.max = max_per_pair
        self.send = sendable(c)
        e = self.e
        used = [a.network for d in c.net.devices.values() for a in d.addresses.values()]
        infra = [ipaddress.IPv4Network(a.ip) for d in c.net.devices.values() for a in d.addresses.values()]
        self.no_infra = ~c.net.space_of("src", infra) & ~c.net.space_of("dst", infra)
        self.src_at: dict[int, BDD] = {}  # outside endpoint -> packets from its lab host (or not from it at all)
        self.dst_at: dict[int, BDD] = {}  # the same for destinations
        for ep in c.eps:
            addr = None
            if ep.kind == "internet":
                addr = internet_host(used)
            elif ep.kind == "city" and ep.prefixes:
                addr = city_host(str(ep.prefixes[0]))
            if addr is not None:
                net = ipaddress.IPv4Network(addr)
                self.src_at[id(ep)] = e.prefix("src", net) | ~c.net.space_of("src", ep.prefixes)
                self.dst_at[id(ep)] = e.prefix("dst", net) | ~c.net.space_of("dst", ep.prefixes)
        self.regions: list[Region] = []
        self.probes: list[Probe] = []

    # -- packets --------------------------------------------------------------------------------------------

    def pick(self, u: BDD, a: Endpoint, b: Endpoint) -> Packet | None:
        """A packet of `u` at addresses the lab has: not a device's address when avoidable, the lab's outside
        hosts for the internet and the city; the highest host addresses (the lab's probe hosts sit there)."""
        e = self.e
        if u == e.false:
            return None
        at = self.src_at.get(id(a), e.true) & self.dst_at.get(id(b), e.true)
        for narrow in (at & self.no_infra, at, e.true):
            v = u & narrow
            if v != e.false:
                return e.example(v, high=("src", "dst"))
        return None

    def verdicts(self, p: Packet, a: Endpoint, b: Endpoint) -> tuple[str, str, str]:
        """(policy expectation, offline verdict, rule) of a probe packet: expected allowed when the policy admits it
        as a new connection; offline allowed when the network admits it and its answer on every path (a packet
        the policy admits) or on some path (a packet the policy denies)."""
        e, c = self.e, self.c
        expected = ALLOWED if e.contains(c.policy.requests, p) else DENIED
        if p.protocol == TCP:
            answer = Packet(TCP, p.dst, p.src, p.dport, p.sport, SYN | 16)
        elif p.protocol == ICMP:
            answer = Packet(ICMP, p.dst, p.src, icmp_type=ECHO_REPLY)
        else:
            answer = Packet(p.protocol, p.dst, p.src, p.dport, p.sport)
        # the verdict least favourable to the policy: a packet the policy admits must pass every path (with its
        # answer), a packet it denies must be dropped on every path (VRRP pairs, firewall pairs are variants)
        sets = c.must if expected == ALLOWED else c.may
        ok = e.contains(sets[id(a)], p) and e.contains(sets[id(b)], answer)
        return expected, ALLOWED if ok else DENIED, c.policy.rule_of(p)

    def probe(self, kind: str, region: str, why: str, p: Packet, a: Endpoint, b: Endpoint) -> Probe:
        expected, offline, rule = self.verdicts(p, a, b)
        return Probe(f"p{len(self.probes) + 1:05d}", kind, region, why, a.zone, b.zone, a.name, b.name,
                     protocol_name(p.protocol), str(p.src), str(p.dst), p.sport, p.dport, p.flags, p.icmp_type,
                     p.icmp_code, expected, offline, rule)

    # -- one pair -------------------------------------------------------------------------------------------

    def pair(self, a: Endpoint, b: Endpoint) -> bool:
        """Regions and probes of one pair; False when the pair has no packet at all (not a pair)."""
        e, c = self.e, self.c
        uni = c.universe(a) & c.ep_space[id(b)]
        if uni == e.false:
            return False
        req = c.policy.requests & uni
        adm = c.policy.admitted & uni
        may = c.may[id(a)] & c.ep_space[id(b)]
        must = c.must[id(a)] & c.ep_space[id(b)]
        denied = uni & self.send & ~adm & ~may
        pending: list[tuple[int, Probe, Region]] = []  # (priority, probe, region)
        counters: list[tuple[int, Probe]] = []
        regions: list[Region] = []
        for kind, space in (("admitted", req), ("network-only", may & ~adm), ("policy-only", req & ~must)):
            if space == e.false:
                continue
            for r in e.summarise(space):
                rid = f"r{len(self.regions) + len(regions) + 1:05d}"
                rs = e.region_space(r) & space
                text = str(r)
                inside = self.pick(rs & self.send, a, b)
                reg = Region(rid, kind, a.name, b.name, a.zone, b.zone, text, e.count(rs),
                             c.policy.rule_of(e.example(rs)), inside is not None,
                             "" if inside is not None else "not sendable: the lab sends only TCP SYN, UDP and "
                             "ICMP echo (type 8 code 0) to ports 1-65535, and this region holds none of them")
                regions.append(reg)
                if inside is None:
                    continue
                pending.append((0, self.probe(INSIDE, rid, f"inside {text}", inside, a, b), reg))
                if inside.protocol in (TCP, UDP):
                    for lo, hi in r.dport:
                        ends = [(lo, f"first port of {lo}-{hi}" if hi != lo else f"port {lo}")]
                        ends += [(hi, f"last port of {lo}-{hi}")] if hi != lo else []
                        for port, why in ends:
                            if port == inside.dport:
                                continue
                            q = dataclasses.replace(inside, dport=port)
                            if not e.contains(rs & self.send, q):
                                q = self.pick(rs & self.send & e.value("dport", port), a, b) or q
                            if e.contains(rs & self.send, q):
                                pending.append((1, self.probe(BOUNDARY, rid, why, q, a, b), reg))
                        for port, why in ((lo - 1, f"port just below {lo}-{hi}"),
                                          (hi + 1, f"port just above {lo}-{hi}")):
                            if 1 <= port <= 65535:
                                q = dataclasses.replace(inside, dport=port)
                                if e.contains(denied, q):
                                    counters.append((2, self.probe(COUNTER, rid, why, q, a, b)))
                    other = UDP if inside.protocol == TCP else TCP
                    q = Packet(other, inside.src, inside.dst, inside.sport, inside.dport, SYN if other == TCP else 0)
                    if e.contains(denied, q):
                        counters.append((3, self.probe(COUNTER, rid, f"{protocol_name(other)} instead of "
                                                       f"{protocol_name(inside.protocol)}", q, a, b)))
                same = e.value("protocol", inside.protocol) & (
                    e.value("dport", inside.dport) if inside.protocol in (TCP, UDP) else e.true)
                q2 = self.pick(denied & same, a, b)
                if q2 is not None and q2.dst != inside.dst:
                    counters.append((3, self.probe(COUNTER, rid, "the same service to another host", q2, a, b)))
        if not regions:
            q3 = self.pick(denied & e.value("protocol", TCP) & e.value("dport", 443), a, b) or self.pick(denied, a, b)
            if q3 is not None:
                counters.append((2, self.probe(COUNTER, "", "the policy connects nothing from here to there", q3,
                                               a, b)))
        chosen: list[Probe] = []
        fitted: set[str] = set()
        for _prio, pr, reg in sorted(pending, key=lambda x: x[0]):
            if len(chosen) < self.max:
                chosen.append(pr)
                if pr.kind == INSIDE:
                    fitted.add(reg.id)
        for _prio, pr in sorted(counters, key=lambda x: x[0]):
            if len(chosen) < self.max:
                chosen.append(pr)
        for reg in regions:
            if reg.probed and reg.id not in fitted:
                reg = dataclasses.replace(reg, probed=False, reason=f"bound: at most {self.max} probes per pair")
            self.regions.append(reg)
        # renumber the chosen probes densely (ids were provisional)
        for pr in chosen:
            self.probes.append(dataclasses.replace(pr, id=f"p{len(self.probes) + 1:05d}"))
        return True


def draw(c: Checker, hosts: Collection[str], scope: str, build_manifest: str,
         max_per_pair: int = DEFAULT_MAX_PER_PAIR) -> ProbeSet:
    """The probe set of a checker that has run (`Checker.run()`), for the endpoints the lab scope `hosts`
    reaches."""
    d = Drawer(c, hosts, max_per_pair)
    eps = [ep for ep in c.eps if in_lab(c, ep, d.hosts)]
    pairs = 0
    for a in eps:
        for b in eps:
            if a is b or (a.outside and b.outside):
                continue
            pairs += d.pair(a, b)
    outside = sum(1 for ep in c.eps if ep.outside)
    every = sum(len(c.eps) - 1 - (outside - 1 if ep.outside else 0) for ep in c.eps)
    notes = [f"{len(eps)} endpoints of {len(c.eps)} are in the lab scope; pairs are every two of them "
             "(outside to outside excluded)",
             f"out of lab scope: {every - pairs} of the county's {every} endpoint pairs; their regions are not drawn "
             "(the exhaustive check covers them)",
             "regions are what the policy admits as new connections; replies (TCP with ACK or RST, ICMP answers, "
             "UDP answers) are admitted only as answers and are crossed by each probe's answer, not probed alone",
             "a probe proves one packet and its answer on the lab's paths, never its region: the region is proven "
             "by the exhaustive check"]
    return ProbeSet(build_manifest, scope, sorted(d.hosts), max_per_pair, pairs, d.regions, d.probes, notes)
