"""Ranges of numbered things, written compactly: port lists in the catalog ('GigabitEthernet0/0/{1..8}') and
VLAN lists as devices print them ('10,20,30-32' on IOS, '10 20 99 to 101' on VRP and Comware).

The one implementation of range expansion (and its inverse) in countynet: the catalog, the intent stage,
the renderer and the round-trip parsers all use these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_BRACES = re.compile(r"\{(\d+)\.\.(\d+)\}")
_TO = re.compile(r"\s+to\s+")
_SEP = re.compile(r"[,\s]+")


def expand_ports(specs: Iterable[str]) -> list[str]:
    """'GigabitEthernet0/0/{1..3}' -> GigabitEthernet0/0/1, .../2, .../3; a name without braces stays as it is."""
    out: list[str] = []
    for spec in specs:
        m = _BRACES.search(spec)
        if not m:
            out.append(spec)
            continue
        lo, hi = int(m.group(1)), int(m.group(2))
        out.extend(spec[: m.start()] + str(i) + spec[m.end():] for i in range(lo, hi + 1))
    return out


def expand_ints(text: str) -> set[int]:
    """'10,20,30-32' or '10 20 30 to 32' -> {10, 20, 30, 31, 32}; '' and 'none' -> set().

    Raises ValueError on a word that is not a number or a range."""
    out: set[int] = set()
    for part in _SEP.split(_TO.sub("-", text.strip())):
        if not part or part == "none":
            continue
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def compress_ints(values: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, de-duplicated runs: [20, 10, 11, 12, 20] -> [(10, 12), (20, 20)]."""
    runs: list[tuple[int, int]] = []
    for v in sorted(set(values)):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs
