"""Regions: products of per-field value sets, the human-readable form of a BDD (`Engine.summarise`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from countynet.verify.symbolic.fields import BY_NAME, FIELDS, Intervals, interval_values, merge_intervals
from countynet.verify.symbolic.model import (
    ESTABLISHED,
    FLAG_BITS,
    ICMP,
    INITIAL_SYN,
    TCP,
    UDP,
    FlagTest,
    protocol_name,
)


def flag_values(tests: tuple[FlagTest, ...]) -> frozenset[int]:
    """The TCP flag combinations (0-63) that pass any of `tests`."""
    return frozenset(v for v in range(64) if any(t.holds(v) for t in tests))


_FLAG_NAMES: tuple[tuple[frozenset[int], str], ...] = (
    (flag_values(ESTABLISHED), "established"),
    (frozenset(range(64)) - flag_values(ESTABLISHED), "not established"),
    (flag_values(INITIAL_SYN), "syn"),
    (frozenset(range(64)) - flag_values(INITIAL_SYN), "not syn"),
)


def networks(intervals: Intervals) -> tuple[ipaddress.IPv4Network, ...]:
    """The fewest prefixes covering exactly the addresses in `intervals`."""
    out: list[ipaddress.IPv4Network] = []
    for lo, hi in intervals:
        out.extend(ipaddress.summarize_address_range(ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi)))
    return tuple(out)


def complement(intervals: Intervals, top: int) -> Intervals:
    """The values 0..`top` not in `intervals`."""
    out: list[tuple[int, int]] = []
    start = 0
    for lo, hi in intervals:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= top:
        out.append((start, top))
    return tuple(out)


def _ranges(intervals: Intervals, top: int = 65535) -> str:
    def text(values: Intervals) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in values)

    rest = complement(intervals, top)
    return f"not {text(rest)}" if len(rest) < len(intervals) else text(intervals)


def _addresses(intervals: Intervals) -> str:
    """The shortest of: the prefixes, `any except` prefixes, `P except` prefixes (P the smallest prefix covering
    the set)."""
    if intervals == ((0, 0xFFFFFFFF),):
        return "any"
    listed = networks(intervals)
    best = (len(listed), ",".join(map(str, listed)))
    lo, hi = intervals[0][0], intervals[-1][1]
    cover = ipaddress.IPv4Network((lo, 32 - (lo ^ hi).bit_length()), strict=False)
    first, last = int(cover.network_address), int(cover.broadcast_address)
    for outer, name in (((0, 0xFFFFFFFF), "any"), ((first, last), str(cover))):
        holes = networks(tuple((max(a, outer[0]), min(b, outer[1])) for a, b in complement(intervals, 0xFFFFFFFF)
                               if a <= outer[1] and b >= outer[0]))
        if len(holes) + 1 < best[0]:
            best = (len(holes) + 1, f"{name} except " + ",".join(map(str, holes)))
    return best[1]

@dataclass(frozen=True)
class Region:
    """A set of packets: every combination of the listed field values (sorted, disjoint inclusive intervals).

    Fields a protocol does not have are listed as full and ignored for its packets (ports unless tcp/udp,
    flags unless tcp, ICMP type and code unless icmp).
    """

    protocol: Intervals
    dst: Intervals
    src: Intervals
    dport: Intervals
    sport: Intervals
    flags: Intervals
    icmp_type: Intervals
    icmp_code: Intervals

    def get(self, name: str) -> Intervals:
        """The value set of field `name`."""
        value: Intervals = getattr(self, name)
        return value

    def is_full(self, name: str) -> bool:
        """True when field `name` is unconstrained in this region."""
        return self.get(name) == BY_NAME[name].full

    @property
    def src_networks(self) -> tuple[ipaddress.IPv4Network, ...]:
        """The region's source addresses as the fewest prefixes."""
        return networks(self.src)

    @property
    def dst_networks(self) -> tuple[ipaddress.IPv4Network, ...]:
        """The region's destination addresses as the fewest prefixes."""
        return networks(self.dst)

    @property
    def protocols(self) -> tuple[int, ...]:
        """The region's IP protocol numbers."""
        return tuple(interval_values(self.protocol))

    def _protocol_text(self) -> str:
        if self.is_full("protocol"):
            return "ip"
        return ",".join(protocol_name(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.protocol)

    def _flags_text(self) -> str:
        values = frozenset(interval_values(self.flags))
        for known, name in _FLAG_NAMES:
            if values == known:
                return name
        combos = ["+".join(n for n, bit in FLAG_BITS if v & bit) or "none" for v in sorted(values)]
        return "flags " + ("|".join(combos) if len(combos) <= 4 else f"in {len(combos)} combinations")

    def __str__(self) -> str:
        text = f"{_addresses(self.src)} -> {_addresses(self.dst)} {self._protocol_text()}"
        protocols = set(self.protocols)
        notes: list[str] = []  # conditions on the fields of some of the region's protocols only
        if not self.is_full("dport"):
            if protocols <= {TCP, UDP}:
                text += "/" + _ranges(self.dport)
            else:
                notes.append(f"tcp/udp dport {_ranges(self.dport)}")
        if not self.is_full("sport"):
            if protocols <= {TCP, UDP}:
                text += f" from port {_ranges(self.sport)}"
            else:
                notes.append(f"tcp/udp sport {_ranges(self.sport)}")
        if not self.is_full("flags"):
            if protocols == {TCP}:
                text += " " + self._flags_text()
            else:
                notes.append("tcp " + self._flags_text())
        icmp = "" if protocols == {ICMP} else "icmp "
        for name in ("icmp_type", "icmp_code"):
            if not self.is_full(name):
                part = f"{name.removeprefix('icmp_')} {_ranges(self.get(name), 255)}"
                if icmp:
                    notes.append(icmp + part)
                else:
                    text += " " + part
        return text + (f" ({'; '.join(notes)})" if notes else "")

def merge_regions(rows: list[tuple[Intervals, ...]]) -> list[Region]:
    """Product rows (one value set per field, in `FIELDS` order) merged while two rows differ in one field only
    (their union is then a product too), as regions in a stable order; the union is unchanged."""
    current = list(dict.fromkeys(rows))
    changed = True
    while changed:
        changed = False
        for i in range(len(FIELDS)):
            groups: dict[tuple[Intervals, ...], list[Intervals]] = {}
            for row in current:
                groups.setdefault(row[:i] + row[i + 1:], []).append(row[i])
            if len(groups) < len(current):
                changed = True
                current = [(*rest[:i], merge_intervals(iv for s in sets for iv in s), *rest[i:])
                           for rest, sets in groups.items()]
    regions = [Region(*row) for row in current]
    return sorted(regions, key=lambda r: (r.protocol, r.src, r.dst, r.dport, r.sport, r.flags, r.icmp_type,
                                          r.icmp_code))
