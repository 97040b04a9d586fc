"""Huawei VRP (V5 and V8 CE/NE): `acl number N` rules, `traffic-filter` and `traffic-policy` bindings.

Semantics (as the devices apply them): a `traffic-filter` ACL is first-match and a packet no rule matches is
**permitted**; a `traffic-policy` whose classifier matches `if-match acl N` applies its behavior (`permit` or
`deny`) to packets matching a permit rule, drops packets matching a deny rule, and forwards packets no rule
matches (default permit). Basic ACLs (2000-2999) filter on the source only.
"""

from __future__ import annotations

import ipaddress

from countynet.verify.symbolic.model import Filter, Line
from countynet.verify.symbolic.parsers.common import (
    Binding,
    DeviceConfig,
    ParseError,
    mask_network,
    vrp_line,
    vrp_rule,
    vrp_statements,
)


def parse(hostname: str, path: str, text: str) -> DeviceConfig:
    """The ACLs, their bindings and interface addresses of a VRP configuration."""
    dev = DeviceConfig(hostname, "huawei_vrp")
    acls: dict[str, list[Line]] = {}
    names: dict[str, str] = {}
    classifiers: dict[str, list[str]] = {}
    behaviors: dict[str, str] = {}
    policies: dict[str, list[tuple[str, str]]] = {}
    policy_bindings: list[tuple[str, str, str]] = []
    block: tuple[str, str] = ("", "")
    for _n, line, tok in vrp_statements(text, path):
        if tok is None:
            block = ("", "")
            continue
        top = not line.startswith(" ")
        w = tok.words
        if top:
            block = ("", "")
            if w[:2] == ["acl", "number"]:
                block = ("acl", w[2])
                acls.setdefault(w[2], [])
            elif w[:2] == ["acl", "name"]:
                raise tok.error("named ACLs are not modelled")
            elif w[0] == "interface":
                block = ("interface", w[1])
            elif w[:2] == ["traffic", "classifier"]:
                block = ("classifier", w[2])
                classifiers[w[2]] = []
            elif w[:2] == ["traffic", "behavior"]:
                block = ("behavior", w[2])
            elif w[:2] == ["traffic", "policy"]:
                block = ("policy", w[2])
                policies[w[2]] = []
            continue
        kind, name = block
        if kind == "acl":
            if w[0] == "description":
                names[name] = " ".join(w[1:])
            elif w[0] == "rule" and len(w) >= 3 and w[2] == "description":
                pass  # `rule N description TEXT`: the policy rule the line comes from, no part of the match
            elif w[0] == "rule":
                tok.take()
                action, number, match = vrp_rule(tok, hostname, name)
                acls[name].append(vrp_line(action, number, match, hostname, name))
            elif w[0] not in ("step",):
                raise tok.error("unknown line in an ACL")
        elif kind == "interface":
            if w[:2] == ["ip", "address"] and len(w) >= 4 and "sub" not in w:
                dev.addresses[name] = ipaddress.IPv4Interface(f"{w[2]}/{mask_network(w[2], w[3], tok).prefixlen}")
            elif w[0] == "traffic-filter":
                if len(w) == 4 and w[1] in ("inbound", "outbound") and w[2] == "acl":  # VRP5 / CE
                    dev.bindings.append(Binding(name, w[1], f"acl {w[3]}"))
                elif len(w) == 4 and w[1] == "acl" and w[3] in ("inbound", "outbound"):  # NE
                    dev.bindings.append(Binding(name, w[3], f"acl {w[2]}"))
                else:
                    raise tok.error("traffic-filter form not modelled (traffic-filter inbound|outbound acl N, or "
                                    "traffic-filter acl N inbound|outbound)")
            elif w[0] == "traffic-policy":
                if len(w) != 3 or w[2] not in ("inbound", "outbound"):
                    raise tok.error("traffic-policy form not modelled (traffic-policy NAME inbound|outbound)")
                policy_bindings.append((name, w[2], w[1]))
        elif kind == "classifier":
            if w[:2] == ["if-match", "acl"]:
                classifiers[name].append(w[2])
            else:
                raise tok.error("classifier condition not modelled (if-match acl N only)")
        elif kind == "behavior":
            if w[0] in ("permit", "deny"):
                behaviors[name] = w[0]
            else:
                raise tok.error("behavior action not modelled (permit | deny only)")
        elif kind == "policy":
            if len(w) == 4 and w[0] == "classifier" and w[2] == "behavior":
                policies[name].append((w[1], w[3]))
            else:
                raise tok.error("traffic policy line not modelled")
    for acl_id, lines in acls.items():
        label = names.get(acl_id, "")
        relabelled = [_relabel(x, f"acl {acl_id}", label) for x in lines]
        dev.filters[f"acl {acl_id}"] = Filter(f"acl {acl_id}", tuple(relabelled), "permit", hostname)
    for pname, pairs in policies.items():
        plines: list[Line] = []
        for cname, bname in pairs:
            if cname not in classifiers or bname not in behaviors:
                raise ParseError(path, 0, f"traffic policy {pname} names an undefined classifier or behavior")
            for acl_ref in classifiers[cname]:
                if f"acl {acl_ref}" not in dev.filters:
                    raise ParseError(path, 0, f"classifier {cname} matches acl {acl_ref}, which is not defined")
                for x in dev.filters[f"acl {acl_ref}"].lines:
                    act = "deny" if behaviors[bname] == "deny" else x.action
                    plines.append(Line(act, x.match, x.label))
        dev.filters[f"traffic-policy {pname}"] = Filter(f"traffic-policy {pname}", tuple(plines), "permit",
                                                        hostname)
    for iface, direction, pname in policy_bindings:
        dev.bindings.append(Binding(iface, direction, f"traffic-policy {pname}"))
    for b in dev.bindings:
        if b.filter not in dev.filters:
            raise ParseError(path, 0, f"{b.interface} binds {b.filter}, which is not defined")
    return dev


def _relabel(line: Line, acl: str, name: str) -> Line:
    from countynet.verify.symbolic.model import Label

    return Line(line.action, line.match, Label(line.label.device, f"{name} ({acl})" if name else acl,
                                               line.label.line, name))
