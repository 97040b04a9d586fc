"""The header fields of the symbolic packet and sets of field values as sorted, disjoint intervals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Intervals = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Field:
    """A packet header field encoded as `width` BDD variables, most significant bit first."""

    name: str
    width: int

    @property
    def vars(self) -> tuple[str, ...]:
        """The field's BDD variable names, most significant bit first."""
        return tuple(f"{self.name}_{i}" for i in range(self.width))

    @property
    def top(self) -> int:
        """The field's largest value."""
        return (1 << self.width) - 1

    @property
    def full(self) -> Intervals:
        """Every value of the field."""
        return ((0, self.top),)


# The variable order: fields are contiguous blocks in this order, bits most significant first. Protocol comes first
# so that ports, flags and ICMP fields are decided under a known protocol.
PROTOCOL = Field("protocol", 8)
DST = Field("dst", 32)
SRC = Field("src", 32)
DPORT = Field("dport", 16)
SPORT = Field("sport", 16)
FLAGS = Field("flags", 6)
ICMP_TYPE = Field("icmp_type", 8)
ICMP_CODE = Field("icmp_code", 8)
FIELDS: tuple[Field, ...] = (PROTOCOL, DST, SRC, DPORT, SPORT, FLAGS, ICMP_TYPE, ICMP_CODE)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
N_VARS = sum(f.width for f in FIELDS)


def merge_intervals(items: Iterable[tuple[int, int]]) -> Intervals:
    """The union of inclusive intervals as sorted, disjoint, non-adjacent intervals."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(items):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def interval_values(intervals: Intervals, limit: int = 1 << 16) -> list[int]:
    """Every value in `intervals` (at most `limit` of them, else ValueError)."""
    if sum(hi - lo + 1 for lo, hi in intervals) > limit:
        raise ValueError("too many values to list")
    return [v for lo, hi in intervals for v in range(lo, hi + 1)]
