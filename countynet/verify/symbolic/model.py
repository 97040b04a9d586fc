"""Neutral input types of the symbolic engine: matches, filter lines, filters, paths and concrete packets.

These types describe packet filters the way devices evaluate them, independently of how countynet compiles its
policy: a rendered configuration parsed back, a hand-written test filter or a generated benchmark filter all become
the same `Filter`. Every type is a frozen, hashable dataclass and validates itself on construction.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Action = Literal["permit", "deny"]

ICMP, TCP, UDP = 1, 6, 17
PROTOCOLS: dict[str, int] = {
    "icmp": ICMP, "igmp": 2, "tcp": TCP, "udp": UDP, "gre": 47, "esp": 50, "ah": 51, "ospf": 89, "pim": 103,
    "vrrp": 112,
}
PROTOCOL_NAMES: dict[int, str] = {n: s for s, n in PROTOCOLS.items()}

# TCP header flag bits (RFC 9293 order, least significant first).
FIN, SYN, RST, PSH, ACK, URG = 1, 2, 4, 8, 16, 32
FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("FIN", FIN), ("SYN", SYN), ("RST", RST), ("PSH", PSH), ("ACK", ACK), ("URG", URG),
)
ALL_FLAGS = 63

# ICMP query types whose answers a stateful firewall (Linux conntrack) lets back: request -> reply.
ICMP_QUERY_REPLIES: dict[int, int] = {8: 0, 13: 14, 15: 16, 17: 18}

Network = ipaddress.IPv4Network


@dataclass(frozen=True)
class PortRange:
    """An inclusive range of TCP/UDP port numbers."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        if not 0 <= self.lo <= self.hi <= 65535:
            raise ValueError(f"bad port range {self.lo}-{self.hi}")

    def __str__(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"


@dataclass(frozen=True)
class FlagTest:
    """TCP flags test: the packet's flags masked by `mask` equal `value` (Batfish's TcpFlagsMatchConditions)."""

    mask: int
    value: int

    def __post_init__(self) -> None:
        if not (0 <= self.mask <= ALL_FLAGS and self.value & ~self.mask == 0):
            raise ValueError(f"bad TCP flags test mask={self.mask} value={self.value}")

    def holds(self, flags: int) -> bool:
        """True when `flags` passes this test."""
        return flags & self.mask == self.value


# A match's `tcp_flags` is a disjunction of tests.
ESTABLISHED: tuple[FlagTest, ...] = (FlagTest(ACK, ACK), FlagTest(RST, RST))  # Cisco/VRP/Comware `established`
INITIAL_SYN: tuple[FlagTest, ...] = (FlagTest(SYN | ACK, SYN),)  # a connection's first packet


def parse_protocol(protocol: str | int | None) -> int | None:
    """Protocol number of a name (`tcp`), a number, or None for `ip` / any protocol."""
    if protocol is None or protocol == "ip":
        return None
    if isinstance(protocol, int):
        return protocol
    if protocol.isdigit():
        return int(protocol)
    try:
        return PROTOCOLS[protocol.lower()]
    except KeyError:
        raise ValueError(f"unknown protocol {protocol!r}") from None


def protocol_name(number: int) -> str:
    """A protocol's usual name (`tcp`), or its number."""
    return PROTOCOL_NAMES.get(number, str(number))


PortSpec = int | str | tuple[int, int] | PortRange


def parse_ports(spec: PortSpec | Iterable[PortSpec] | None) -> tuple[PortRange, ...] | None:
    """Port ranges from `22`, `"8000-8080"`, `(8000, 8080)`, a `PortRange` or a list of these; None is any."""
    if spec is None:
        return None
    if isinstance(spec, int | str | tuple | PortRange):
        items: list[PortSpec] = [spec]
    else:
        items = list(spec)
    out: list[PortRange] = []
    for item in items:
        if isinstance(item, PortRange):
            out.append(item)
        elif isinstance(item, int):
            out.append(PortRange(item, item))
        elif isinstance(item, tuple):
            out.append(PortRange(item[0], item[1]))
        else:
            lo, _, hi = item.partition("-")
            out.append(PortRange(int(lo), int(hi or lo)))
    return tuple(out)


def parse_networks(spec: str | Network | Iterable[str | Network] | None) -> tuple[Network, ...] | None:
    """IPv4 prefixes from a string, a network or a list; None (or `any`) is any address. Host bits must be 0."""
    if spec is None or spec == "any":
        return None
    items = [spec] if isinstance(spec, str | Network) else list(spec)
    return tuple(ipaddress.IPv4Network(n) for n in items)


@dataclass(frozen=True)
class Match:
    """What a filter line matches: a conjunction of field conditions, each a union of values (None is any).

    Port ranges need protocol tcp or udp, `tcp_flags` needs tcp (a disjunction of `FlagTest`s: `ESTABLISHED`
    is ACK or RST set, `INITIAL_SYN` is SYN set and ACK clear), ICMP type and code need icmp.
    """

    src: tuple[Network, ...] | None = None
    dst: tuple[Network, ...] | None = None
    protocol: int | None = None
    src_ports: tuple[PortRange, ...] | None = None
    dst_ports: tuple[PortRange, ...] | None = None
    tcp_flags: tuple[FlagTest, ...] | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None

    def __post_init__(self) -> None:
        if self.protocol is not None and not 0 <= self.protocol <= 255:
            raise ValueError(f"bad protocol number {self.protocol}")
        if (self.src_ports is not None or self.dst_ports is not None) and self.protocol not in (TCP, UDP):
            raise ValueError("port conditions need protocol tcp or udp")
        if self.tcp_flags is not None and self.protocol != TCP:
            raise ValueError("TCP flag conditions need protocol tcp")
        if (self.icmp_type is not None or self.icmp_code is not None) and self.protocol != ICMP:
            raise ValueError("ICMP type/code conditions need protocol icmp")
        if self.icmp_code is not None and self.icmp_type is None:
            raise ValueError("an ICMP code condition needs an ICMP type")
        for value in (self.icmp_type, self.icmp_code):
            if value is not None and not 0 <= value <= 255:
                raise ValueError(f"bad ICMP type/code {value}")

    @classmethod
    def of(
        cls,
        *,
        src: str | Network | Iterable[str | Network] | None = None,
        dst: str | Network | Iterable[str | Network] | None = None,
        protocol: str | int | None = None,
        sport: PortSpec | Iterable[PortSpec] | None = None,
        dport: PortSpec | Iterable[PortSpec] | None = None,
        established: bool = False,
        syn: bool = False,
        tcp_flags: tuple[FlagTest, ...] | None = None,
        icmp_type: int | None = None,
        icmp_code: int | None = None,
    ) -> Match:
        """A match from readable values: `Match.of(src="10.0.0.0/8", protocol="tcp", dport="8000-8080")`."""
        flags = tcp_flags
        if established:
            flags = ESTABLISHED
        elif syn:
            flags = INITIAL_SYN
        return cls(parse_networks(src), parse_networks(dst), parse_protocol(protocol), parse_ports(sport),
                   parse_ports(dport), flags, icmp_type, icmp_code)


@dataclass(frozen=True)
class Label:
    """Where a filter line comes from: device, filter, line number (sequence) and the rule it implements."""

    device: str = ""
    filter: str = ""
    line: int = 0
    rule: str = ""

    def __str__(self) -> str:
        where = " ".join(p for p in (self.device, self.filter) if p)
        text = f"{where} line {self.line}" if where else f"line {self.line}"
        return f"{text} ({self.rule})" if self.rule else text


@dataclass(frozen=True)
class Line:
    """One filter line: the action taken on the packets of `match` that no earlier line matched."""

    action: Action
    match: Match
    label: Label = field(default_factory=Label)


@dataclass(frozen=True)
class Filter:
    """A stateless packet filter evaluated first-match; a packet no line matches gets `default`."""

    name: str
    lines: tuple[Line, ...]
    default: Action = "deny"
    device: str = ""

    @classmethod
    def of(cls, name: str, lines: Iterable[tuple[Action, Match] | tuple[Action, Match, str]],
           default: Action = "deny", device: str = "") -> Filter:
        """A filter whose lines are labelled (device, name, 1-based position, rule name if given)."""
        built = []
        for number, spec in enumerate(lines, start=1):
            rule = spec[2] if len(spec) == 3 else ""
            built.append(Line(spec[0], spec[1], Label(device, name, number, rule)))
        return cls(name, tuple(built), default, device)


@dataclass(frozen=True)
class Stateful:
    """A stateful firewall crossed in one direction.

    It admits new connections that `policy` permits, and the replies of connections that `reverse` (the
    firewall's policy for connections opened from the other side) permits: TCP and UDP with addresses and ports
    swapped (any TCP flags), ICMP echo/timestamp/information/address-mask answers to their requests, and other
    protocols with addresses swapped.
    """

    name: str
    policy: Filter
    reverse: Filter | None = None
    device: str = ""


Hop = Filter | Stateful


@dataclass(frozen=True)
class Path:
    """The filters a packet crosses, in order; the path admits a packet when every hop admits it."""

    hops: tuple[Hop, ...]
    name: str = ""


@dataclass(frozen=True, order=True)
class Packet:
    """A concrete packet. Fields a protocol does not have are 0 (ports unless tcp/udp, flags unless tcp, ICMP
    type and code unless icmp), so every packet has exactly one representation."""

    protocol: int
    src: ipaddress.IPv4Address
    dst: ipaddress.IPv4Address
    sport: int = 0
    dport: int = 0
    flags: int = 0
    icmp_type: int = 0
    icmp_code: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.protocol <= 255:
            raise ValueError(f"bad protocol {self.protocol}")
        if not (0 <= self.sport <= 65535 and 0 <= self.dport <= 65535):
            raise ValueError("ports are 0-65535")
        if self.protocol not in (TCP, UDP) and (self.sport or self.dport):
            raise ValueError(f"protocol {self.protocol} has no ports")
        if not 0 <= self.flags <= ALL_FLAGS or (self.protocol != TCP and self.flags):
            raise ValueError("TCP flags are 0-63 and only on tcp")
        if not (0 <= self.icmp_type <= 255 and 0 <= self.icmp_code <= 255):
            raise ValueError("ICMP type and code are 0-255")
        if self.protocol != ICMP and (self.icmp_type or self.icmp_code):
            raise ValueError("ICMP type and code only on icmp")

    @classmethod
    def of(cls, protocol: str | int, src: str, dst: str, *, sport: int = 0, dport: int = 0, flags: str | int = 0,
           icmp_type: int = 0, icmp_code: int = 0) -> Packet:
        """A packet from readable values; `flags` is a number or letters from `FSRPAU` (`"SA"` is SYN+ACK)."""
        number = parse_protocol(protocol)
        if number is None:
            raise ValueError("a packet has one protocol")
        if isinstance(flags, str):
            letters = dict(zip("FSRPAU", (bit for _, bit in FLAG_BITS), strict=True))
            flags = sum(letters[c] for c in set(flags.upper()))
        return cls(number, ipaddress.IPv4Address(src), ipaddress.IPv4Address(dst), sport, dport, flags, icmp_type,
                   icmp_code)

    def __str__(self) -> str:
        name = protocol_name(self.protocol)
        if self.protocol in (TCP, UDP):
            text = f"{name} {self.src}:{self.sport} -> {self.dst}:{self.dport}"
            if self.protocol == TCP:
                text += " [" + ",".join(n for n, bit in FLAG_BITS if self.flags & bit) + "]"
            return text
        if self.protocol == ICMP:
            return f"icmp {self.src} -> {self.dst} type {self.icmp_type} code {self.icmp_code}"
        return f"{name} {self.src} -> {self.dst}"
