"""Concrete semantics: one packet through filters and paths, evaluated the way devices do.

This is the reference the symbolic engine is tested against (random packets, random filters) and what
`explain` uses to say which line decided a counterexample. It works on plain integers and never on BDDs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from countynet.verify.symbolic.model import (
    ALL_FLAGS,
    ICMP,
    ICMP_QUERY_REPLIES,
    TCP,
    Action,
    Filter,
    Hop,
    Label,
    Line,
    Match,
    Packet,
    Path,
)


def matches(match: Match, packet: Packet) -> bool:
    """True when `packet` satisfies every condition of `match`."""
    if match.protocol is not None and match.protocol != packet.protocol:
        return False
    if match.src is not None and not any(packet.src in net for net in match.src):
        return False
    if match.dst is not None and not any(packet.dst in net for net in match.dst):
        return False
    if match.src_ports is not None and not any(r.lo <= packet.sport <= r.hi for r in match.src_ports):
        return False
    if match.dst_ports is not None and not any(r.lo <= packet.dport <= r.hi for r in match.dst_ports):
        return False
    if match.tcp_flags is not None and not any(t.holds(packet.flags) for t in match.tcp_flags):
        return False
    if match.icmp_type is not None and packet.icmp_type != match.icmp_type:
        return False
    return match.icmp_code is None or packet.icmp_code == match.icmp_code


def first_match(flt: Filter, packet: Packet) -> Line | None:
    """The first line of `flt` that matches `packet`, or None when the default action applies."""
    for line in flt.lines:
        if matches(line.match, packet):
            return line
    return None


def decide(flt: Filter, packet: Packet) -> Action:
    """What `flt` does with `packet` (first match, else the default action)."""
    line = first_match(flt, packet)
    return flt.default if line is None else line.action


def originals(packet: Packet) -> list[Packet]:
    """Every packet whose connection `packet` can be a reply of (addresses and ports swapped; any TCP flags;
    the request type for an ICMP query answer); empty for ICMP messages that answer no query."""
    swapped = dataclasses.replace(packet, src=packet.dst, dst=packet.src, sport=packet.dport, dport=packet.sport)
    if packet.protocol == TCP:
        return [dataclasses.replace(swapped, flags=f) for f in range(ALL_FLAGS + 1)]
    if packet.protocol == ICMP:
        requests = [req for req, rep in ICMP_QUERY_REPLIES.items() if rep == packet.icmp_type]
        return [dataclasses.replace(swapped, icmp_type=req) for req in requests]
    return [swapped]


def replies(packet: Packet) -> list[Packet]:
    """Every reply a stateful firewall lets back for a connection opened by `packet`."""
    swapped = dataclasses.replace(packet, src=packet.dst, dst=packet.src, sport=packet.dport, dport=packet.sport)
    if packet.protocol == TCP:
        return [dataclasses.replace(swapped, flags=f) for f in range(ALL_FLAGS + 1)]
    if packet.protocol == ICMP:
        reply = ICMP_QUERY_REPLIES.get(packet.icmp_type)
        return [] if reply is None else [dataclasses.replace(swapped, icmp_type=reply)]
    return [swapped]


@dataclass(frozen=True)
class Step:
    """What one hop did with a packet: the line (None for the default action), the action, and how it decided:
    `line` or `default` of a stateless filter or a firewall's policy, or `reply` when a stateful firewall let a
    reply back (the label is then the line of the reverse policy that admitted the connection)."""

    hop: str
    label: Label | None
    action: Action
    how: Literal["line", "default", "reply"]

    def __str__(self) -> str:
        where = str(self.label) if self.label is not None else "default action"
        reply = " (reply of a connection admitted by)" if self.how == "reply" else ""
        return f"{self.hop}: {self.action}{reply} {where}"


def _filter_step(hop: str, flt: Filter, packet: Packet) -> Step:
    line = first_match(flt, packet)
    if line is None:
        return Step(hop, None, flt.default, "default")
    return Step(hop, line.label, line.action, "line")


def hop_step(hop: Hop, packet: Packet) -> Step:
    """What `hop` does with `packet`, with the deciding line."""
    if isinstance(hop, Filter):
        return _filter_step(hop.name, hop, packet)
    step = _filter_step(hop.name, hop.policy, packet)
    if step.action == "permit" or hop.reverse is None:
        return step
    for original in originals(packet):
        line = first_match(hop.reverse, original)
        action = hop.reverse.default if line is None else line.action
        if action == "permit":
            return Step(hop.name, line.label if line is not None else None, "permit", "reply")
    return step


def explain(packet: Packet, path: Path) -> list[Step]:
    """The hops of `path` that `packet` reaches, each with the line that decided; the list stops at the first
    hop that denies it (so the packet is admitted exactly when every step permits)."""
    steps: list[Step] = []
    for hop in path.hops:
        steps.append(hop_step(hop, packet))
        if steps[-1].action == "deny":
            break
    return steps


def admits(path: Path | Hop, packet: Packet) -> bool:
    """True when every hop of `path` (or the single hop) admits `packet`."""
    hops = path.hops if isinstance(path, Path) else (path,)
    return all(hop_step(hop, packet).action == "permit" for hop in hops)

