"""Symbolic packet-filter verification: every packet at once, with BDDs (see docs/symbolic.md).

Filters, firewalls and paths are described with the neutral types of `model` (nothing here is shared with the
policy compiler); the engine turns them into exact sets of packets over the whole IPv4 header space, compares
sets, and turns sets back into concrete packets (`example`, `boundary_packets`), explanations (`explain`) and
human-readable regions (`summarise`). The module-level functions use one process-wide `Engine`; BDDs from
different engines must not be mixed.
"""

from __future__ import annotations

from collections.abc import Iterable

from countynet.verify.symbolic.concrete import Step
from countynet.verify.symbolic.engine import BDD, Difference, EmptySpace, Engine
from countynet.verify.symbolic.model import (
    ACK,
    ESTABLISHED,
    FIN,
    ICMP,
    INITIAL_SYN,
    PSH,
    RST,
    SYN,
    TCP,
    UDP,
    URG,
    Action,
    Filter,
    FlagTest,
    Hop,
    Label,
    Line,
    Match,
    Packet,
    Path,
    PortRange,
    Stateful,
)
from countynet.verify.symbolic.regions import Region

_default: Engine | None = None


def default_engine() -> Engine:
    """The process-wide engine the module-level functions use (created on first use)."""
    global _default
    if _default is None:
        _default = Engine()
    return _default


def space(match: Match) -> BDD:
    """Exactly the packets `match` matches."""
    return default_engine().space(match)


def admitted(flt: Filter) -> BDD:
    """Exactly the packets `flt` permits, first match."""
    return default_engine().admitted(flt)


def path_admitted(path: Path) -> BDD:
    """The packets every hop of `path` admits."""
    return default_engine().path_admitted(path)


def compare(a: BDD, b: BDD) -> Difference:
    """The packets only `a` holds and those only `b` holds."""
    return default_engine().compare(a, b)


def example(u: BDD, high: Iterable[str] = ()) -> Packet:
    """A readable packet of `u` (fields named in `high` at their highest value); EmptySpace when `u` is empty."""
    return default_engine().example(u, high)


def boundary_packets(u: BDD) -> list[Packet]:
    """Packets at the ends of each region of `u` (destination-port bounds, highest values)."""
    return default_engine().boundary_packets(u)


def explain(packet: Packet, path: Path) -> list[Step]:
    """Which line of each hop decided `packet`, up to the first hop that denies it."""
    return default_engine().explain(packet, path)


def summarise(u: BDD) -> list[Region]:
    """`u` as few disjoint regions of prefixes x protocols x port ranges; their union is exactly `u`."""
    return default_engine().summarise(u)


__all__ = [
    "ACK", "BDD", "ESTABLISHED", "FIN", "ICMP", "INITIAL_SYN", "PSH", "RST", "SYN", "TCP", "UDP", "URG", "Action",
    "Difference", "EmptySpace", "Engine", "Filter", "FlagTest", "Hop", "Label", "Line", "Match", "Packet", "Path",
    "PortRange", "Region", "Stateful", "Step", "admitted", "boundary_packets", "compare", "default_engine",
    "example", "explain", "path_admitted", "space", "summarise",
]
