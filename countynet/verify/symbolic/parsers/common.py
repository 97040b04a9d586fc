"""What every config parser returns (`DeviceConfig`), the shared token readers, and `parse_device`."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field

from countynet.verify.symbolic.model import ESTABLISHED, Filter, Label, Line, Match, PortRange, Stateful

PROTOCOLS = {"ip": None, "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "ospf": 89,
             "vrrp": 112, "pim": 103}


class ParseError(ValueError):
    """A configuration line the parser cannot read exactly (file:line: what, and the line)."""

    def __init__(self, path: str, line: int, message: str, text: str = "") -> None:
        self.path, self.line, self.text = path, line, text
        super().__init__(f"{path}:{line}: {message}" + (f": {text.strip()}" if text else ""))


@dataclass(frozen=True)
class Binding:
    """A filter bound to an interface in one direction (`inbound` / `outbound`)."""

    interface: str
    direction: str
    filter: str


@dataclass
class DeviceConfig:
    """The filtering state of one device as its rendered configuration states it.

    `filters`: every ACL / chain as a `Filter` (with the platform's default action for the binding kind);
    `bindings`: where they are applied; `addresses`: interface -> ip/len; `zones` and `policies` for a zone
    firewall (H3C security-policy): zone -> interfaces, (from zone, to zone) -> Filter (default deny);
    `host_input`: a Linux host's input chain as a Stateful hop (new connections; replies of its output chain).
    """

    hostname: str
    platform: str
    filters: dict[str, Filter] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)
    addresses: dict[str, ipaddress.IPv4Interface] = field(default_factory=dict)
    zones: dict[str, list[str]] = field(default_factory=dict)
    policies: dict[tuple[str, str], Filter] = field(default_factory=dict)
    host_input: Stateful | None = None
    host_forward: Stateful | None = None
    nat: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    forward_by_iif: dict[str, Filter] = field(default_factory=dict)
    forward_other: Filter | None = None
    forward_stateful: bool = False
    tunnels: dict[str, list[ipaddress.IPv4Network]] = field(default_factory=dict)

    def bound(self, interface: str, direction: str) -> list[Filter]:
        """The filters bound on `interface` in `direction`."""
        return [self.filters[b.filter] for b in self.bindings
                if b.interface == interface and b.direction == direction and b.filter in self.filters]


class Tokens:
    """A cursor over one line's words, raising ParseError with the line's location."""

    def __init__(self, words: list[str], path: str, line: int, text: str) -> None:
        self.words, self.i, self.path, self.line, self.text = words, 0, path, line, text

    def peek(self, k: int = 0) -> str | None:
        return self.words[self.i + k] if self.i + k < len(self.words) else None

    def take(self) -> str:
        if self.i >= len(self.words):
            raise self.error("line ends early")
        self.i += 1
        return self.words[self.i - 1]

    def done(self) -> bool:
        return self.i >= len(self.words)

    def error(self, message: str) -> ParseError:
        return ParseError(self.path, self.line, message, self.text)


def wildcard_network(addr: str, wildcard: str, tok: Tokens) -> ipaddress.IPv4Network:
    """The prefix of `addr` with an inverse mask (`0` is a host); refuses wildcards that are not prefixes."""
    got = _WILDCARDS.get((addr, wildcard))
    if got is None:
        got = _WILDCARDS[(addr, wildcard)] = _wildcard_network(addr, wildcard, tok)
    return got


_WILDCARDS: dict[tuple[str, str], ipaddress.IPv4Network] = {}


def _wildcard_network(addr: str, wildcard: str, tok: Tokens) -> ipaddress.IPv4Network:
    try:
        inv = 0 if wildcard == "0" else int(ipaddress.IPv4Address(wildcard))
        base = int(ipaddress.IPv4Address(addr))
    except ValueError as exc:
        raise tok.error(f"bad address or wildcard {addr} {wildcard}") from exc
    if inv & (inv + 1):
        raise tok.error(f"wildcard {wildcard} is not a prefix (the engine models prefixes only)")
    length = 32 - inv.bit_length()
    if base & inv:
        raise tok.error(f"{addr} has bits set under its wildcard {wildcard}")
    return ipaddress.IPv4Network((base, length))


def mask_network(addr: str, mask: str, tok: Tokens) -> ipaddress.IPv4Network:
    """The prefix `addr` / dotted `mask` (or a length)."""
    try:
        return ipaddress.IPv4Network(f"{addr}/{mask}", strict=False)
    except ValueError as exc:
        raise tok.error(f"bad prefix {addr} {mask}") from exc


def port_op(tok: Tokens) -> tuple[PortRange, ...]:
    """Ports after a keyword: eq P | range A B | lt P | gt P | neq P (Cisco/VRP/Comware forms)."""
    op = tok.take()
    try:
        if op == "eq":
            p = int(tok.take())
            return (PortRange(p, p),)
        if op == "range":
            a, b = int(tok.take()), int(tok.take())
            return (PortRange(a, b),)
        if op == "lt":
            p = int(tok.take())
            return (PortRange(0, p - 1),)
        if op == "gt":
            p = int(tok.take())
            return (PortRange(p + 1, 65535),)
        if op == "neq":
            p = int(tok.take())
            return tuple(r for r in (PortRange(0, p - 1) if p else None, PortRange(p + 1, 65535) if p < 65535
                                      else None) if r is not None)
    except ValueError as exc:
        raise tok.error(f"bad port after {op}") from exc
    raise tok.error(f"unknown port operator {op!r}")


def protocol_number(word: str, tok: Tokens) -> int | None:
    """A protocol word or number (None for ip: any protocol)."""
    if word in PROTOCOLS:
        return PROTOCOLS[word]
    if word.isdigit() and 0 <= int(word) <= 255:
        return int(word)
    raise tok.error(f"unknown protocol {word!r}")


def numbered(text: str) -> Iterator[tuple[int, str]]:
    """The lines of `text` with 1-based numbers."""
    return enumerate(text.splitlines(), start=1)


def vrp_statements(text: str, path: str) -> Iterator[tuple[int, str, Tokens | None]]:
    """The non-blank lines of a VRP/Comware configuration as (number, line without trailing blanks, its tokens);
    a `#` separator (the end of a block) comes as tokens None."""
    for n, raw in numbered(text):
        line = raw.rstrip()
        if not line.strip():
            continue
        yield n, line, None if line.strip() == "#" else Tokens(line.split(), path, n, raw)



ICMP_NAMES = {"echo": (8, 0), "echo-reply": (0, 0), "unreachable": (3, None), "ttl-exceeded": (11, None),
              "timestamp-request": (13, 0), "timestamp-reply": (14, 0)}


def vrp_rule(tok: Tokens, device: str, acl: str) -> tuple[str, int, Match]:
    """One `rule N permit|deny ...` line of a Huawei VRP or H3C Comware ACL (basic or advanced), the words
    after `rule`: returns action, rule number and match. Keywords: source/destination (any | A W),
    source-port/destination-port (eq | range | lt | gt | neq), tcp-flag established / established,
    icmp-type (name or number [code]). Anything else is refused."""
    try:
        number = int(tok.take())
    except ValueError as exc:
        raise tok.error("rule number expected") from exc
    action = tok.take()
    if action not in ("permit", "deny"):
        raise tok.error(f"action {action!r} is neither permit nor deny")
    protocol: int | None = None
    if tok.peek() is not None and tok.peek() not in ("source", "destination"):
        protocol = protocol_number(tok.take(), tok)
    src = dst = None
    sport = dport = None
    flags = None
    itype = icode = None
    while not tok.done():
        key = tok.take()
        if key in ("source", "destination"):
            word = tok.take()
            nets = None if word == "any" else (wildcard_network(word, tok.take(), tok),)
            if key == "source":
                src = nets
            else:
                dst = nets
        elif key in ("source-port", "destination-port"):
            ports = port_op(tok)
            if key == "source-port":
                sport = ports
            else:
                dport = ports
        elif (key == "tcp-flag" and tok.peek() == "established") or key == "established":
            if key == "tcp-flag":
                tok.take()
            flags = ESTABLISHED
        elif key == "icmp-type":
            word = tok.take()
            if word in ICMP_NAMES:
                itype, icode = ICMP_NAMES[word]
            elif word.isdigit():
                itype = int(word)
                if tok.peek() is not None and tok.peek().isdigit():  # type: ignore[union-attr]
                    icode = int(tok.take())
            else:
                raise tok.error(f"unknown ICMP type {word!r}")
        else:
            raise tok.error(f"unknown keyword {key!r} in an ACL rule")
    try:
        match = Match(src, dst, protocol, sport, dport, flags, itype, icode)
    except ValueError as exc:
        raise tok.error(str(exc)) from exc
    return action, number, match


def vrp_line(action: str, number: int, match: Match, device: str, acl: str, rule: str = "") -> Line:
    """A labelled Line (the rule number is the label's line)."""
    return Line(action, match, Label(device, acl, number, rule))  # type: ignore[arg-type]
