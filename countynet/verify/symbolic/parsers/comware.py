"""H3C Comware 7: `acl basic|advanced N` rules with `packet-filter` bindings, zone-based `security-policy ip`.

Semantics: a `packet-filter` ACL is first-match and a packet no rule matches is **permitted** (Comware's
default unless `packet-filter default deny`, which is honoured when present). A security policy is evaluated
first-match between a source and a destination zone; what no rule passes is dropped, and the firewall is
stateful (the network model builds the `Stateful` hop from the two directions). Interfaces are in the zones
their `security-zone name Z` block imports.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from countynet.verify.symbolic.model import Filter, Label, Line, Match, PortRange
from countynet.verify.symbolic.parsers.common import (
    Binding,
    DeviceConfig,
    ParseError,
    Tokens,
    mask_network,
    port_op,
    protocol_number,
    vrp_line,
    vrp_rule,
    vrp_statements,
)


@dataclass
class _PolicyRule:
    number: int
    line: int
    name: str = ""
    action: str = ""
    src_zone: str = ""
    dst_zone: str = ""
    src: list[ipaddress.IPv4Network] = field(default_factory=list)
    dst: list[ipaddress.IPv4Network] = field(default_factory=list)
    services: list[tuple[int | None, tuple[PortRange, ...] | None]] = field(default_factory=list)


def parse(hostname: str, path: str, text: str) -> DeviceConfig:
    """The ACLs, packet-filter bindings, security zones and policies of a Comware configuration."""
    dev = DeviceConfig(hostname, "h3c_comware")
    acls: dict[str, list[Line]] = {}
    names: dict[str, str] = {}
    rules: list[_PolicyRule] = []
    default_deny = False
    block: tuple[str, str] = ("", "")
    for n, line, tok in vrp_statements(text, path):
        if tok is None:
            block = ("", "")
            continue
        w = tok.words
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            block = ("", "")
            if w[0] == "acl" and len(w) >= 3 and w[1] in ("basic", "advanced", "number"):
                if w[2] == "name":
                    raise tok.error("named ACLs are not modelled")
                block = ("acl", w[2])
                acls.setdefault(w[2], [])
            elif w[0] == "interface":
                block = ("interface", w[1])
            elif w[:2] == ["security-zone", "name"]:
                block = ("zone", w[2])
                dev.zones.setdefault(w[2], [])
            elif w[:2] == ["security-policy", "ip"]:
                block = ("policy", "")
            continue
        if w[:3] == ["packet-filter", "default", "deny"]:
            default_deny = True
            continue
        kind, name = block
        if kind == "acl":
            if w[0] == "description":
                names[name] = " ".join(w[1:])
            elif w[0] == "rule" and len(w) >= 3 and w[2] == "comment":
                pass  # `rule N comment TEXT`: the policy rule the line comes from, no part of the match
            elif w[0] == "rule":
                tok.take()
                action, number, match = vrp_rule(tok, hostname, name)
                acls[name].append(vrp_line(action, number, match, hostname, name))
            else:
                raise tok.error("unknown line in an ACL")
        elif kind == "interface":
            if w[:2] == ["ip", "address"] and len(w) >= 4 and "sub" not in w:
                dev.addresses[name] = ipaddress.IPv4Interface(f"{w[2]}/{mask_network(w[2], w[3], tok).prefixlen}")
            elif w[0] == "packet-filter":
                if len(w) != 3 or w[2] not in ("inbound", "outbound"):
                    raise tok.error("packet-filter form not modelled (packet-filter N inbound|outbound)")
                dev.bindings.append(Binding(name, w[2], f"acl {w[1]}"))
            elif w[0] == "nat":
                dev.nat.append(f"{path}:{n}: {line.strip()}")
        elif kind == "zone":
            if w[:2] == ["import", "interface"]:
                dev.zones[name].append(w[2])
        elif kind == "policy":
            if indent == 1 and w[0] == "rule":
                try:
                    rules.append(_PolicyRule(int(w[1]), n, w[3] if len(w) > 3 and w[2] == "name" else ""))
                except ValueError as exc:
                    raise tok.error("rule number expected") from exc
            elif rules and indent >= 2:
                _policy_line(rules[-1], tok)
            else:
                raise tok.error("security-policy line before its rule")
    default = "deny" if default_deny else "permit"
    for acl_id, lines in acls.items():
        label = names.get(acl_id, "")
        fname = f"acl {acl_id}"
        relabelled = tuple(Line(x.action, x.match, Label(hostname, f"{label} ({fname})" if label else fname,
                                                         x.label.line, label)) for x in lines)
        dev.filters[fname] = Filter(fname, relabelled, default, hostname)  # type: ignore[arg-type]
    pairs: dict[tuple[str, str], list[Line]] = {}
    for r in rules:
        if r.action not in ("pass", "drop") or not r.src_zone or not r.dst_zone:
            raise ParseError(path, r.line, f"security-policy rule {r.number} lacks an action or a zone")
        act = "permit" if r.action == "pass" else "deny"
        for proto, ports in r.services or [(None, None)]:
            match = Match(tuple(r.src) or None, tuple(r.dst) or None, proto, None, ports)
            pairs.setdefault((r.src_zone, r.dst_zone), []).append(
                Line(act, match, Label(hostname, "security-policy", r.number, r.name)))  # type: ignore[arg-type]
    for key, lines in pairs.items():
        dev.policies[key] = Filter(f"security-policy {key[0]}->{key[1]}", tuple(lines), "deny", hostname)
    for b in dev.bindings:
        if b.filter not in dev.filters:
            raise ParseError(path, 0, f"{b.interface} binds {b.filter}, which is not defined")
    return dev


def _policy_line(r: _PolicyRule, tok: Tokens) -> None:
    w = tok.words
    key = w[0]
    if key == "action":
        r.action = w[1]
    elif key == "source-zone":
        r.src_zone = w[1]
    elif key == "destination-zone":
        r.dst_zone = w[1]
    elif key in ("source-ip-subnet", "destination-ip-subnet"):
        (r.src if key.startswith("source") else r.dst).append(mask_network(w[1], w[2], tok))
    elif key in ("source-ip-host", "destination-ip-host"):
        (r.src if key.startswith("source") else r.dst).append(ipaddress.IPv4Network(w[1]))
    elif key == "service-port":
        tok.take()
        proto = protocol_number(tok.take(), tok)
        ports = None
        if not tok.done():
            if tok.take() != "destination":
                raise tok.error("only destination service ports are modelled")
            ports = port_op(tok)
        r.services.append((proto, ports))
    elif key in ("description", "logging", "counting"):
        pass
    else:
        raise tok.error(f"security-policy condition {key!r} not modelled")
