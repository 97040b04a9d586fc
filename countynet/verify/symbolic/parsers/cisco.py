"""Cisco IOS-XE: `ip access-list extended NAME` (numbered lines, `remark`s naming the next lines) and
`ip access-group NAME in|out` bindings. A packet no line matches is denied (the implicit deny)."""

from __future__ import annotations

import ipaddress

from countynet.verify.symbolic.model import ESTABLISHED, Filter, Label, Line, Match
from countynet.verify.symbolic.parsers.common import (
    Binding,
    DeviceConfig,
    ParseError,
    Tokens,
    mask_network,
    numbered,
    port_op,
    protocol_number,
    wildcard_network,
)

_PORT_OPS = ("eq", "range", "lt", "gt", "neq")


def _address(tok: Tokens) -> tuple[ipaddress.IPv4Network, ...] | None:
    word = tok.take()
    if word == "any":
        return None
    if word == "host":
        return (ipaddress.IPv4Network(tok.take()),)
    return (wildcard_network(word, tok.take(), tok),)


def parse(hostname: str, path: str, text: str) -> DeviceConfig:
    """Extended ACLs, their bindings and interface addresses of an IOS-XE configuration."""
    dev = DeviceConfig(hostname, "cisco_ios")
    acls: dict[str, list[Line]] = {}
    block: tuple[str, str] = ("", "")
    remark = ""
    for n, raw in numbered(text):
        line = raw.rstrip()
        if not line.strip() or line.strip() == "!":
            continue
        tok = Tokens(line.split(), path, n, raw)
        w = tok.words
        if not line.startswith(" "):
            block = ("", "")
            if w[:3] == ["ip", "access-list", "extended"]:
                block = ("acl", w[3])
                acls[w[3]] = []
                remark = ""
            elif w[:2] == ["ip", "access-list"] and w[2] != "standard":
                raise tok.error("access-list form not modelled")
            elif w[0] == "access-list":
                raise tok.error("numbered access-lists are not modelled")
            elif w[0] == "interface":
                block = ("interface", w[1])
            continue
        kind, name = block
        if kind == "acl":
            if w[0] == "remark":
                remark = " ".join(w[1:])
                continue
            try:
                seq = int(tok.take())
            except ValueError as exc:
                raise tok.error("sequence number expected") from exc
            action = tok.take()
            if action not in ("permit", "deny"):
                raise tok.error(f"action {action!r} is neither permit nor deny")
            proto = protocol_number(tok.take(), tok)
            src = _address(tok)
            sport = port_op(tok) if tok.peek() in _PORT_OPS else None
            dst = _address(tok)
            dport = port_op(tok) if tok.peek() in _PORT_OPS else None
            flags = None
            itype = icode = None
            while not tok.done():
                word = tok.take()
                if word == "established":
                    flags = ESTABLISHED
                elif word == "log":
                    pass
                elif word.isdigit() and proto == 1 and itype is None:
                    itype = int(word)
                elif word.isdigit() and proto == 1 and icode is None and tok.words[tok.i - 2].isdigit():
                    icode = int(word)  # `permit icmp SRC DST type code`
                elif word == "echo" and proto == 1:
                    itype = 8
                elif word == "echo-reply" and proto == 1:
                    itype = 0
                else:
                    raise tok.error(f"ACL keyword {word!r} not modelled")
            try:
                match = Match(src, dst, proto, sport, dport, flags, itype, icode)
            except ValueError as exc:
                raise tok.error(str(exc)) from exc
            acls[name].append(Line(action, match, Label(hostname, name, seq, remark)))  # type: ignore[arg-type]
        elif kind == "interface":
            if w[:2] == ["ip", "address"] and len(w) >= 4 and w[2] not in ("dhcp",):
                dev.addresses[name] = ipaddress.IPv4Interface(f"{w[2]}/{mask_network(w[2], w[3], tok).prefixlen}")
            elif w[:2] == ["ip", "access-group"]:
                if len(w) != 4 or w[3] not in ("in", "out"):
                    raise tok.error("access-group form not modelled")
                dev.bindings.append(Binding(name, "inbound" if w[3] == "in" else "outbound", w[2]))
            elif w[:2] == ["ip", "nat"]:
                dev.nat.append(f"{path}:{n}: {line.strip()}")
    for name, lines in acls.items():
        dev.filters[name] = Filter(name, tuple(lines), "deny", hostname)
    for b in dev.bindings:
        if b.filter not in dev.filters:
            raise ParseError(path, 0, f"{b.interface} binds {b.filter}, which is not an extended ACL here")
    return dev
