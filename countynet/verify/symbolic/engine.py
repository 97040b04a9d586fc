"""The symbolic engine: sets of packets as BDDs over the whole IPv4 header space.

A packet is 126 boolean variables: protocol (8 bits), destination and source address (32 each), destination
and source port (16 each), TCP flags (6: FIN SYN RST PSH ACK URG), ICMP type and code (8 each). Fields a protocol
does not have are 0 in every set the engine builds (`Engine.valid`), so each real packet is exactly one
assignment and counts are packet counts. The variable order is fixed (no dynamic reordering) and each field is a
contiguous block, most significant bit first; `summarise` relies on it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from countynet.verify.symbolic import concrete
from countynet.verify.symbolic.fields import (
    BY_NAME,
    DPORT,
    DST,
    FIELDS,
    FLAGS,
    ICMP_CODE,
    ICMP_TYPE,
    N_VARS,
    PROTOCOL,
    SPORT,
    SRC,
    Field,
    Intervals,
    merge_intervals,
)
from countynet.verify.symbolic.model import (
    ACK,
    ICMP,
    ICMP_QUERY_REPLIES,
    SYN,
    TCP,
    UDP,
    Filter,
    FlagTest,
    Hop,
    Match,
    Network,
    Packet,
    Path,
)
from countynet.verify.symbolic.regions import Region, merge_regions


class BDD(Protocol):
    """A BDD node of `dd` (`dd.cudd.Function` or `dd.autoref.Function`): a set of packets."""

    def __and__(self, other: BDD) -> BDD: ...
    def __or__(self, other: BDD) -> BDD: ...
    def __invert__(self) -> BDD: ...
    def __int__(self) -> int: ...

    @property
    def var(self) -> str | None: ...
    @property
    def low(self) -> BDD | None: ...
    @property
    def high(self) -> BDD | None: ...
    @property
    def negated(self) -> bool: ...


class EmptySpace(ValueError):
    """An example was asked of an empty set of packets."""


@dataclass(frozen=True)
class Difference:
    """What `a` admits and `b` does not (`only_a`), and the reverse (`only_b`)."""

    only_a: BDD
    only_b: BDD
    equal: bool


def _manager(backend: str | None) -> tuple[Any, str]:
    name = backend or os.environ.get("COUNTYNET_BDD", "") or "cudd"
    if name == "cudd":
        try:
            from dd import cudd
        except ImportError:  # no CUDD wheel for this platform: the pure-Python BDD computes the same sets
            name = "autoref"
        else:
            return cudd.BDD(), "cudd"
    if name != "autoref":
        raise ValueError(f"unknown BDD backend {name!r} (cudd or autoref)")
    from dd import autoref, bdd

    class QuietManager(bdd.BDD):
        # dd.bdd asserts on deletion that no node is still referenced. When the cyclic garbage collector frees a
        # manager together with BDDs that a traceback or a cache still held, the order is arbitrary and the
        # assertion fires although all the memory goes: skip it.
        def __del__(self) -> None:
            pass

    manager = autoref.BDD()
    manager._bdd.__class__ = QuietManager  # type: ignore[type-abstract]
    return manager, "autoref"


class Engine:
    """One BDD manager with the packet variables declared; every BDD it returns belongs to this manager.

    `backend` is `cudd` (CUDD through `dd.cudd`, the default) or `autoref` (pure Python); the environment variable
    COUNTYNET_BDD chooses when it is None. Results are cached per match and per filter.
    """

    cover_limit = 400  # summarise widens and drops regions only below this many disjoint ones (else it is slow)

    def __init__(self, backend: str | None = None) -> None:
        self.bdd, self.backend = _manager(backend)
        # the last packet's variable assignment: membership questions come in runs about one packet (the rule a
        # packet belongs to asks every policy rule), and building the 128-variable map dominated them
        self._last: tuple[Packet, dict[str, bool]] | None = None
        for f in FIELDS:
            self.bdd.declare(*f.vars)
        self.bdd.configure(reordering=False)
        self.level = {var: self.bdd.level_of_var(var) for f in FIELDS for var in f.vars}
        self.true: BDD = self.bdd.true
        self.false: BDD = self.bdd.false
        self._intervals: dict[tuple[str, int, int], BDD] = {}
        self._spaces: dict[Match, BDD] = {}
        self._filters: dict[Filter, BDD] = {}
        tcp, udp, icmp = self.value(PROTOCOL, TCP), self.value(PROTOCOL, UDP), self.value(PROTOCOL, ICMP)
        self._tcp, self._icmp, self._ported = tcp, icmp, tcp | udp
        zero = {f.name: self.value(f, 0) for f in (DPORT, SPORT, FLAGS, ICMP_TYPE, ICMP_CODE)}
        self.valid: BDD = ((self._ported | (zero["dport"] & zero["sport"])) & (tcp | zero["flags"])
                           & (icmp | (zero["icmp_type"] & zero["icmp_code"])))
        self._others = {f.name: [v for g in FIELDS if g != f for v in g.vars] for f in FIELDS}
        pairs = ((SRC, DST), (DST, SRC), (SPORT, DPORT), (DPORT, SPORT))
        self._swap = {a: self.bdd.var(b) for x, y in pairs for a, b in zip(x.vars, y.vars, strict=True)}

    def close(self) -> None:
        """Drop the cached sets (the engine stays usable; caches fill again on use)."""
        self._intervals.clear()
        self._spaces.clear()
        self._filters.clear()

    # -- field conditions ------------------------------------------------------------------------------------

    def value(self, field: Field | str, value: int) -> BDD:
        """Packets whose `field` equals `value`."""
        return self.interval(field, value, value)

    def interval(self, field: Field | str, lo: int, hi: int) -> BDD:
        """Packets whose `field` is in `lo`..`hi` (inclusive); not intersected with `valid`."""
        f = BY_NAME[field] if isinstance(field, str) else field
        if not 0 <= lo <= hi <= f.top:
            raise ValueError(f"bad {f.name} interval {lo}-{hi}")
        key = (f.name, lo, hi)
        cached = self._intervals.get(key)
        if cached is not None:
            return cached
        ge, le = self.true, self.true
        for i, var in enumerate(reversed(f.vars)):  # least significant bit first
            x = self.bdd.var(var)
            ge = (x & ge) if lo >> i & 1 else (x | ge)
            le = (~x | le) if hi >> i & 1 else (~x & le)
        self._intervals[key] = result = ge & le
        return result

    def intervals(self, field: Field | str, values: Intervals) -> BDD:
        """Packets whose `field` is in any of `values`."""
        u = self.false
        for lo, hi in values:
            u = u | self.interval(field, lo, hi)
        return u

    def prefix(self, field: Field | str, network: Network) -> BDD:
        """Packets whose address `field` (src or dst) is in `network`."""
        return self.interval(field, int(network.network_address), int(network.broadcast_address))

    # -- spaces of matches, filters and paths ---------------------------------------------------------------

    def _flags(self, tests: tuple[FlagTest, ...]) -> BDD:
        u = self.false
        for test in tests:
            term = self.true
            for i, var in enumerate(reversed(FLAGS.vars)):
                if test.mask >> i & 1:
                    x = self.bdd.var(var)
                    term = term & (x if test.value >> i & 1 else ~x)
            u = u | term
        return u

    def space(self, match: Match) -> BDD:
        """Exactly the (valid) packets `match` matches."""
        cached = self._spaces.get(match)
        if cached is not None:
            return cached
        u = self.valid
        if match.protocol is not None:
            u = u & self.value(PROTOCOL, match.protocol)
        for field, nets in ((SRC, match.src), (DST, match.dst)):
            if nets is not None:
                u = u & self.intervals(field, tuple((int(n.network_address), int(n.broadcast_address))
                                                    for n in nets))
        for field, ports in ((SPORT, match.src_ports), (DPORT, match.dst_ports)):
            if ports is not None:
                u = u & self.intervals(field, tuple((r.lo, r.hi) for r in ports))
        if match.tcp_flags is not None:
            u = u & self._flags(match.tcp_flags)
        if match.icmp_type is not None:
            u = u & self.value(ICMP_TYPE, match.icmp_type)
        if match.icmp_code is not None:
            u = u & self.value(ICMP_CODE, match.icmp_code)
        self._spaces[match] = u
        return u

    def admitted(self, flt: Filter) -> BDD:
        """Exactly the packets `flt` permits under first-match semantics (each line decides the packets it matches
        that no earlier line matched; the rest get the default action)."""
        cached = self._filters.get(flt)
        if cached is not None:
            return cached
        u = self.valid if flt.default == "permit" else self.false
        for line in reversed(flt.lines):
            m = self.space(line.match)
            u = (m | u) if line.action == "permit" else (~m & u)
        self._filters[flt] = u
        return u

    def replies(self, u: BDD) -> BDD:
        """The replies a stateful firewall lets back for the connections opened by the packets of `u`: TCP with
        addresses and ports swapped and any flags, UDP and other protocols swapped, ICMP query answers
        (echo, timestamp, information, address mask) to the requests in `u`, with the request's code."""
        tcp = self.bdd.exist(FLAGS.vars, self.bdd.let(self._swap, u & self._tcp))
        other = self.bdd.let(self._swap, u & ~self._tcp & ~self._icmp)
        icmp = self.false
        for request, reply in ICMP_QUERY_REPLIES.items():
            asked = self.bdd.let(self._swap, u & self._icmp & self.value(ICMP_TYPE, request))
            icmp = icmp | (self.bdd.exist(ICMP_TYPE.vars, asked) & self.value(ICMP_TYPE, reply))
        return (tcp | other | icmp) & self.valid

    def hop_admitted(self, hop: Hop) -> BDD:
        """The packets a hop admits: a filter's permitted packets; for a stateful firewall its policy's
        permitted packets plus the replies of the connections its reverse policy permits."""
        if isinstance(hop, Filter):
            return self.admitted(hop)
        u = self.admitted(hop.policy)
        if hop.reverse is not None:
            u = u | self.replies(self.admitted(hop.reverse))
        return u

    def path_admitted(self, path: Path) -> BDD:
        """The packets every hop of `path` admits (the intersection; `valid` for a path with no hop)."""
        u = self.valid
        for hop in path.hops:
            u = u & self.hop_admitted(hop)
        return u

    def compare(self, a: BDD, b: BDD) -> Difference:
        """The packets in `a` and not `b`, and in `b` and not `a`."""
        only_a, only_b = a & ~b, b & ~a
        return Difference(only_a, only_b, only_a == self.false and only_b == self.false)

    # -- concrete packets ----------------------------------------------------------------------------------

    def _assignment(self, packet: Packet) -> dict[str, bool]:
        last = self._last  # one read: another thread may replace it
        if last is not None and last[0] == packet:
            return last[1]
        values = {PROTOCOL: packet.protocol, DST: int(packet.dst), SRC: int(packet.src), DPORT: packet.dport,
                  SPORT: packet.sport, FLAGS: packet.flags, ICMP_TYPE: packet.icmp_type, ICMP_CODE: packet.icmp_code}
        out = {var: bool(v >> (f.width - 1 - i) & 1) for f, v in values.items() for i, var in enumerate(f.vars)}
        self._last = (packet, out)
        return out

    def packet_space(self, packet: Packet) -> BDD:
        """The set holding only `packet`."""
        return self.bdd.cube(self._assignment(packet))

    def contains(self, u: BDD, packet: Packet) -> bool:
        """True when `packet` is in `u`."""
        return self.bdd.let(self._assignment(packet), u) == self.true

    def is_empty(self, u: BDD) -> bool:
        """True when `u` holds no packet."""
        return u == self.false

    def _children(self, u: BDD) -> tuple[BDD, BDD]:
        low, high = u.low, u.high
        assert low is not None and high is not None
        return (~low, ~high) if u.negated else (low, high)

    def _level(self, u: BDD) -> int:
        return N_VARS if u.var is None else self.level[u.var]

    def count(self, u: BDD) -> int:
        """The exact number of packets in `u`."""
        memo: dict[int, int] = {}

        def walk(v: BDD) -> int:
            if v == self.true:
                return 1
            if v == self.false:
                return 0
            key = int(v)
            if key not in memo:
                level = self._level(v)
                low, high = self._children(v)
                memo[key] = sum(walk(c) << (self._level(c) - level - 1) for c in (low, high))
            return memo[key]

        return walk(u) << self._level(u)

    def _extreme(self, u: BDD, field: Field, high: bool) -> int:
        value = 0
        for var in field.vars:
            bit = high
            cofactor = self.bdd.let({var: bit}, u)
            if cofactor == self.false:
                bit = not bit
                cofactor = self.bdd.let({var: bit}, u)
            u, value = cofactor, value << 1 | bit
        return value

    def _choose(self, u: BDD, field: Field, high: bool) -> int:
        if not high:
            preferred = {PROTOCOL: (TCP, UDP, ICMP), FLAGS: (SYN, ACK), ICMP_TYPE: (8,)}.get(field, ())
            for v in preferred:
                if u & self.value(field, v) != self.false:
                    return v
            if field == SPORT:  # a client's port when the region allows one
                clients = u & self.interval(SPORT, 1024, 65535)
                if clients != self.false:
                    return self._extreme(clients, field, high)
        v = self._extreme(u, field, high)
        if field in (SRC, DST):  # a host address rather than a network or broadcast address
            neighbour = v - 1 if high else v + 1
            if (v % 2 == 1) == high and u & self.value(field, neighbour) != self.false:
                return neighbour
        return v

    def example(self, u: BDD, high: Iterable[str] = ()) -> Packet:
        """A packet of `u`, readable: tcp, udp then icmp first, the lowest destination port, a client source port
        (1024 and up) if allowed, SYN then ACK, ICMP echo, the first host address (network address + 1) of a
        range. Fields named in `high` take their highest value instead (last host address, highest port): with
        both, the two ends of a region. Raises EmptySpace when `u` is empty."""
        if u == self.false:
            raise EmptySpace("no packet in an empty set")
        highs = set(high)
        unknown = highs - set(BY_NAME)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        values: dict[str, int] = {}
        for field in FIELDS:
            v = self._choose(u, field, field.name in highs)
            u = self.bdd.let({var: bool(v >> (field.width - 1 - i) & 1) for i, var in enumerate(field.vars)}, u)
            values[field.name] = v
        assert u == self.true
        return Packet(values["protocol"], ipaddress.IPv4Address(values["src"]), ipaddress.IPv4Address(values["dst"]),
                      values["sport"], values["dport"], values["flags"], values["icmp_type"], values["icmp_code"])

    # -- regions -------------------------------------------------------------------------------------------

    def relax(self, u: BDD) -> BDD:
        """`u` with the fields its packets' protocols do not have left free instead of 0 (`relax(u) & valid`
        is `u` again): the form `summarise` splits into regions."""
        exist = self.bdd.exist
        u = (u & self._ported) | exist(DPORT.vars + SPORT.vars, u & ~self._ported)
        u = (u & self._tcp) | exist(FLAGS.vars, u & ~self._tcp)
        return (u & self._icmp) | exist(ICMP_TYPE.vars + ICMP_CODE.vars, u & ~self._icmp)

    def _split(self, u: BDD, field: Field) -> list[tuple[Intervals, BDD]]:
        """The values of `field` grouped by the residual set of the remaining fields they lead to."""
        levels = [self.level[v] for v in field.vars]
        memo: dict[tuple[int, int], list[tuple[int, int, BDD]]] = {}

        def walk(v: BDD, i: int) -> list[tuple[int, int, BDD]]:
            # (lo, hi, residual) for the values of bits i.. of the field
            if i == field.width:
                return [(0, 0, v)]
            key = (int(v), i)
            if key in memo:
                return memo[key]
            level = self._level(v)
            half = 1 << (field.width - i - 1)
            if level > levels[-1]:  # independent of the field's remaining bits
                result = [(0, (half << 1) - 1, v)]
            else:
                low, high = self._children(v) if level == levels[i] else (v, v)
                result = walk(low, i + 1) + [(lo + half, hi + half, r) for lo, hi, r in walk(high, i + 1)]
            memo[key] = result
            return result

        groups: dict[int, tuple[BDD, list[tuple[int, int]]]] = {}
        for lo, hi, residual in walk(u, 0):
            if residual != self.false:
                groups.setdefault(int(residual), (residual, []))[1].append((lo, hi))
        return [(merge_intervals(spans), residual) for residual, spans in groups.values()]

    def summarise(self, u: BDD, disjoint: bool = False) -> list[Region]:
        """`u` as few regions (products of prefixes, protocols, port ranges, flags, ICMP types) whose union is
        exactly `u`. The regions come from a field-by-field decomposition of the BDD, merged where two differ in
        one field; with `disjoint` that partition is returned, otherwise each region is then widened field by
        field as far as it stays inside `u` (its protocols only while it has no port, flag or ICMP condition)
        and regions covered by the others are dropped (they may overlap); above `cover_limit` disjoint regions
        that step is skipped."""
        if u == self.false:
            return []
        relaxed = self.relax(u & self.valid)
        rows: list[tuple[Intervals, ...]] = []

        def walk(v: BDD, i: int, acc: tuple[Intervals, ...]) -> None:
            if i == len(FIELDS):
                assert v == self.true
                rows.append(acc)
                return
            for values, residual in self._split(v, FIELDS[i]):
                walk(residual, i + 1, (*acc, values))

        walk(relaxed, 0, ())
        regions = merge_regions(rows)
        return regions if disjoint or len(regions) > self.cover_limit else self._cover(relaxed, regions)

    def _product(self, region: Region, skip: Field | None = None) -> BDD:
        u = self.true
        for field in FIELDS:
            if field != skip and not region.is_full(field.name):
                u = u & self.intervals(field, region.get(field.name))
        return u

    def _cover(self, relaxed: BDD, regions: list[Region]) -> list[Region]:
        grown: list[Region] = []
        specific = [f.name for f in (DPORT, SPORT, FLAGS, ICMP_TYPE, ICMP_CODE)]
        for region in regions:
            for field in FIELDS:
                if region.is_full(field.name):
                    continue
                if field == PROTOCOL and not all(region.is_full(name) for name in specific):
                    continue  # `tcp/22` stays readable: never `ip (tcp/udp dport 22)`
                allowed = self.bdd.forall(self._others[field.name], ~self._product(region, skip=field) | relaxed)
                (values, _), = self._split(allowed, field)
                region = dataclasses.replace(region, **{field.name: values})
            grown.append(region)
        merged = merge_regions([tuple(r.get(f.name) for f in FIELDS) for r in grown])
        spaces = [self._product(r) for r in merged]
        keep = sorted(range(len(merged)), key=lambda i: self.count(spaces[i]), reverse=True)
        for i in reversed(list(keep)):  # smallest first
            rest = self.false
            for j in keep:
                if j != i:
                    rest = rest | spaces[j]
            if spaces[i] & ~rest == self.false:
                keep.remove(i)
        return [merged[i] for i in sorted(keep)]

    def region_space(self, region: Region) -> BDD:
        """Exactly the (valid) packets of `region`."""
        return self._product(region) & self.valid

    def boundary_packets(self, u: BDD) -> list[Packet]:
        """Probe packets for `u`: for every region of `summarise(u)`, the readable example at each end of each of
        its destination-port intervals (or once when it has no ports), then the packet with every field at its
        highest value in the region; without duplicates."""
        out: list[Packet] = []
        for region in self.summarise(u):
            r = self.region_space(region)
            if set(region.protocols) <= {TCP, UDP}:
                for lo, hi in region.dport:
                    out.append(self.example(r & self.interval(DPORT, lo, lo)))
                    out.append(self.example(r & self.interval(DPORT, hi, hi)))
            else:
                out.append(self.example(r))
            out.append(self.example(r, high=BY_NAME))
        return list(dict.fromkeys(out))

    def explain(self, packet: Packet, path: Path) -> list[concrete.Step]:
        """The hops of `path` that `packet` reaches, each with the line (device, filter, line, rule) and action
        that decided it, up to the first hop that denies it."""
        return concrete.explain(packet, path)
