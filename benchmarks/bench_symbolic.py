"""Symbolic engine benchmark: build, intersect and compare packet filters of the county's scale.

Generates LAN-gateway filters shaped like countynet's compiled ones (DHCP and link-local lines, allowed services
towards the centre's servers, replies of flows into the zone, deny lines for the other internal ranges, the
internet, a final deny): by default 23 townships, each with a township filter and 14 village filters, plus 10
unit and 5 centre-zone filters, 40 lines each (about 14,000 lines). Then it times:
- building the exact admitted set of every filter (first match);
- intersecting each village's filter with its township's (a two-hop path);
- one mutation per filter (a permit/deny swap, a dropped final deny under a default permit, or a port range
  narrowed by one port), each compared with the original, with a counterexample, its explanation and the
  summarised difference; for the mutations that change nothing, why (the line decides no packet, or a later
  line decides its packets the same way);
- summarising whole filters into regions.
Prints seconds, BDD nodes and peak RSS; asserts nothing about time.
Run: .venv/bin/python benchmarks/bench_symbolic.py [--townships 23] [--villages 14] [--backend cudd|autoref]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import sys
import time
from pathlib import Path as FsPath

sys.path.insert(0, str(FsPath(__file__).resolve().parent.parent))

from countynet.verify.symbolic import Engine, Filter, Match, Path
from countynet.verify.symbolic.model import Action, PortRange

SERVERS = ["10.30.17.10", "10.30.17.11", "10.30.17.12", "10.30.17.20", "10.30.17.21", "10.30.17.30"]
SERVICES: list[tuple[str, str]] = [("tcp", "443"), ("tcp", "80"), ("tcp", "8000-8080"), ("udp", "53"),
                                   ("tcp", "53"), ("tcp", "25"), ("tcp", "3389"), ("udp", "123")]
INTERNAL = ["10.30.0.0/16", "10.40.0.0/16", "10.50.0.0/16", "10.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lan_filter(name: str, lan: str, rng: random.Random, lines: int = 40) -> Filter:
    """A LAN ingress filter of exactly `lines` lines for `lan`, shaped like a compiled countynet filter."""
    spec: list[tuple[Action, Match, str]] = [
        ("permit", Match.of(src="0.0.0.0/32", protocol="udp", sport=68, dport=67), "dhcp"),
        ("permit", Match.of(src=lan, protocol="udp", sport=68, dport=67), "dhcp-renew"),
        ("permit", Match.of(src=lan, dst="224.0.0.0/24"), "link-local"),
    ]
    closing: list[tuple[Action, Match, str]] = [
        ("deny", Match.of(dst=INTERNAL), "other-internal"),
        ("permit", Match.of(src=lan, protocol="tcp", dport=[80, 443]), "internet-web"),
        ("permit", Match.of(src=lan, protocol="udp", dport=53), "internet-dns"),
        ("deny", Match.of(), "deny-rest"),
    ]
    body: list[tuple[Action, Match, str]] = []
    while len(spec) + len(body) + len(closing) < lines:
        kind = rng.random()
        server = rng.choice(SERVERS) + "/32"
        protocol, ports = rng.choice(SERVICES)
        if kind < 0.55:  # a service the zone may use
            body.append(("permit", Match.of(src=lan, dst=server, protocol=protocol, dport=ports), "service"))
        elif kind < 0.8:  # replies of a flow into the zone
            if protocol == "tcp":
                body.append(("permit", Match.of(src=lan, dst=server, protocol="tcp", sport=ports, established=True),
                             "reply"))
            else:
                body.append(("permit", Match.of(src=lan, dst=server, protocol="udp", sport=ports), "reply"))
        elif kind < 0.9:
            body.append(("permit", Match.of(src=lan, dst=server, protocol="icmp", icmp_type=8), "ping"))
        else:
            other = f"10.{rng.choice([30, 40, 50])}.{rng.randrange(256)}.0/24"
            body.append(("deny", Match.of(dst=other, protocol=protocol, dport=ports), "explicit-deny"))
    return Filter.of(name, spec + body + closing, device=name.split(":")[0])


def county(townships: int, villages: int, units: int, centre: int, seed: int = 7) -> tuple[
        dict[str, Filter], list[tuple[str, str]]]:
    """The generated filters by name, and (village, township) pairs."""
    rng = random.Random(seed)
    filters: dict[str, Filter] = {}
    pairs: list[tuple[str, str]] = []
    for t in range(townships):
        town = f"town{t:02d}-sw1:lan-in"
        filters[town] = lan_filter(town, f"10.40.{t}.0/24", rng)
        for v in range(villages):
            village = f"town{t:02d}-v{v:02d}:lan-in"
            filters[village] = lan_filter(village, f"10.{64 + t}.{v}.0/24", rng)
            pairs.append((village, town))
    for u in range(units):
        filters[f"unit{u:02d}-rt1:lan-in"] = lan_filter(f"unit{u:02d}-rt1:lan-in", f"10.50.{u}.0/24", rng)
    for c in range(centre):
        filters[f"core{c}:zone-in"] = lan_filter(f"core{c}:zone-in", f"10.30.{16 + c}.0/24", rng)
    return filters, pairs


def mutate(flt: Filter, kind: int, rng: random.Random) -> Filter:
    """One mistake: 0 swaps a random line's action, 1 drops the final deny (default permit, as on VRP/Comware
    traffic filters), 2 narrows the first port range by one port."""
    lines = list(flt.lines)
    if kind == 0:
        i = rng.randrange(3, len(lines) - 1)
        lines[i] = dataclasses.replace(lines[i], action="deny" if lines[i].action == "permit" else "permit")
        return dataclasses.replace(flt, lines=tuple(lines))
    if kind == 1:
        return dataclasses.replace(flt, lines=tuple(lines[:-1]), default="permit")
    for i, line in enumerate(lines):
        ports = line.match.dst_ports
        if ports and ports[0].hi > ports[0].lo:
            narrowed = (PortRange(ports[0].lo, ports[0].hi - 1), *ports[1:])
            lines[i] = dataclasses.replace(line, match=dataclasses.replace(line.match, dst_ports=narrowed))
            return dataclasses.replace(flt, lines=tuple(lines))
    return flt


def nodes(engine: Engine) -> int:
    return len(engine.bdd)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--townships", type=int, default=23)
    ap.add_argument("--villages", type=int, default=14)
    ap.add_argument("--units", type=int, default=10)
    ap.add_argument("--centre", type=int, default=5)
    ap.add_argument("--backend", choices=["cudd", "autoref"], default=None)
    args = ap.parse_args()

    t0 = time.perf_counter()
    filters, pairs = county(args.townships, args.villages, args.units, args.centre)
    n_lines = sum(len(f.lines) for f in filters.values())
    t1 = time.perf_counter()
    engine = Engine(args.backend)
    print(f"backend {engine.backend}: {len(filters)} filters, {n_lines} lines (generated in {t1 - t0:.2f} s)")

    t = time.perf_counter()
    admitted = {name: engine.admitted(f) for name, f in filters.items()}
    build = time.perf_counter() - t
    print(f"  build every filter:        {build:.2f} s ({1e6 * build / n_lines:.0f} us/line), "
          f"{nodes(engine)} BDD nodes, peak RSS {peak_rss_mb():.0f} MB")

    t = time.perf_counter()
    paths = [engine.path_admitted(Path((filters[v], filters[tw]))) for v, tw in pairs]
    inter = time.perf_counter() - t
    print(f"  {len(paths)} two-hop paths:       {inter:.2f} s ({1000 * inter / max(len(paths), 1):.2f} ms/path)")

    rng = random.Random(11)
    t = time.perf_counter()
    regions = 0
    applied = {0: 0, 1: 0, 2: 0}
    found = {0: 0, 1: 0, 2: 0}
    harmless: list[tuple[Filter, Filter]] = []
    for i, (name, flt) in enumerate(filters.items()):
        bad = mutate(flt, i % 3, rng)
        if bad == flt:
            continue
        applied[i % 3] += 1
        diff = engine.compare(admitted[name], engine.admitted(bad))
        for part in (diff.only_a, diff.only_b):
            if not engine.is_empty(part):
                packet = engine.example(part)
                engine.explain(packet, Path((bad,)))
                regions += len(engine.summarise(part))
        found[i % 3] += not diff.equal
        if diff.equal:
            harmless.append((flt, bad))
    compare = time.perf_counter() - t
    print(f"  {sum(applied.values())} mutations compared:  {compare:.2f} s "
          f"({1000 * compare / sum(applied.values()):.1f} ms each), {regions} difference regions, "
          f"peak RSS {peak_rss_mb():.0f} MB")
    print(f"    changed the admitted set: {found[0]} of {applied[0]} swaps, {found[1]} of {applied[1]} dropped "
          f"final denies, {found[2]} of {applied[2]} ranges narrowed by one port")
    shadowed = later = 0
    for flt, bad in harmless:  # why the others are harmless: the changed line decides no packet, or a later one
        i = next((i for i, (a, b) in enumerate(zip(flt.lines, bad.lines, strict=False)) if a != b), len(bad.lines))
        earlier = engine.false
        for line in flt.lines[:i]:
            earlier = earlier | engine.space(line.match)
        changed = engine.space(flt.lines[i].match) & ~earlier  # the packets the original line decides
        if i < len(bad.lines) and bad.lines[i].action == flt.lines[i].action:  # narrowed: those it lost
            changed = changed & ~engine.space(bad.lines[i].match)
        shadowed += engine.is_empty(changed)
        later += not engine.is_empty(changed)
    print(f"    proven harmless: {shadowed} changed lines shadowed by earlier lines, {later} whose packets a later "
          f"line decides the same way")

    sample = list(filters)[: min(20, len(filters))]
    t = time.perf_counter()
    total = sum(len(engine.summarise(admitted[name])) for name in sample)
    summ = time.perf_counter() - t
    print(f"  summarise {len(sample)} whole filters: {summ:.2f} s ({1000 * summ / len(sample):.0f} ms each), "
          f"{total / len(sample):.1f} regions per filter")

    t = time.perf_counter()
    everything = engine.false
    for u in admitted.values():
        everything = everything | u
    union_s = time.perf_counter() - t
    t = time.perf_counter()
    cover = engine.summarise(everything)
    print(f"  union of all filters:      {union_s:.2f} s; summarised into {len(cover)} regions in "
          f"{time.perf_counter() - t:.2f} s")
    print(f"  total {time.perf_counter() - t0:.2f} s, {nodes(engine)} BDD nodes, peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
