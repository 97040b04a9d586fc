"""Linux: `/etc/nftables.conf` (table inet filter: input / forward / output chains, named sets) as stateful
hops, and the addresses of `/etc/network/interfaces`.

A chain whose rules start with `ct state established,related accept` is a `Stateful` hop: new connections are
decided by the rules after it (first verdict wins, else the chain policy), replies come back for the
connections the opposite direction admits. Modelled over-approximations, stated in the report: `iif "lo"`
rules match no packet from the network and are left out; `iifname` conditions and `limit` rate limits are
treated as always true; `ct state invalid drop` is left out (the engine does not track TCP state); rules with no
verdict (`log`, `counter`) decide nothing. Any other statement is refused.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass

from countynet.verify.symbolic.model import Filter, Label, Line, Match, PortRange, Stateful
from countynet.verify.symbolic.parsers.common import DeviceConfig, ParseError, Tokens, protocol_number

_ICMP = {"echo-request": 8, "echo-reply": 0, "destination-unreachable": 3, "time-exceeded": 11}
NFT_FILE = "etc/nftables.conf"
IFACES_FILE = "etc/network/interfaces"
SWANCTL_FILE = "etc/swanctl/swanctl.conf"
FRR_FILE = "etc/frr/frr.conf"


def _values(tok: Tokens) -> list[str]:
    """One value or a `{ a, b }` set (words already split)."""
    word = tok.take()
    if word != "{":
        return [word.strip(",")]
    out: list[str] = []
    while True:
        word = tok.take()
        if word == "}":
            return out
        out += [x for x in word.split(",") if x]


def _ports(values: list[str], tok: Tokens) -> tuple[PortRange, ...]:
    out = []
    for v in values:
        try:
            lo, _, hi = v.partition("-")
            out.append(PortRange(int(lo), int(hi or lo)))
        except ValueError as exc:
            raise tok.error(f"bad port {v!r}") from exc
    return tuple(out)


def _nets(values: list[str], sets: dict[str, list[str]], tok: Tokens) -> tuple[ipaddress.IPv4Network, ...]:
    out = []
    for v in values:
        items = sets.get(v[1:]) if v.startswith("@") else [v]
        if items is None:
            raise tok.error(f"set {v} is not defined")
        for x in items:
            try:
                out.append(ipaddress.IPv4Network(x))
            except ValueError as exc:
                raise tok.error(f"bad address {x!r}") from exc
    return tuple(out)


@dataclass(frozen=True)
class _Rule:
    verdict: str  # permit | deny | return | jump
    match: Match
    label: Label
    iif: frozenset[str] | None = None  # iifname condition (None: any interface)
    target: str = ""  # the chain a jump goes to


def _rule(tok: Tokens, sets: dict[str, list[str]], notes: list[str]) -> tuple[str, Match, str,
                                                                             frozenset[str] | None, str] | None:
    """(verdict, match, comment, iifname set, jump target) of one rule; None for a rule that matches nothing from
    the network or decides nothing."""
    src = dst = None
    iif: frozenset[str] | None = None
    target = ""
    established = False
    proto: int | None = None
    sport = dport = None
    itype: int | None = None
    icode: int | None = None
    verdict = ""
    comment = ""
    while not tok.done():
        word = tok.take()
        if word == "iif":
            return None
        if word == "iifname":
            iif = frozenset(_values(tok))
        elif word == "oifname":
            raise tok.error("oifname conditions are not modelled")
        elif word in ("accept", "drop", "reject"):
            verdict = "permit" if word == "accept" else "deny"
        elif word == "return":
            verdict = "return"
        elif word == "jump":
            verdict, target = "jump", tok.take()
        elif word == "comment":
            comment = tok.take()
        elif word == "limit":
            while not tok.done() and tok.peek() not in ("accept", "drop", "reject", "comment", "log"):
                tok.take()
        elif word == "log":
            while (not tok.done() and tok.peek() in ("prefix", "level")) or (tok.i > 0 and tok.words[tok.i - 1]
                                                                          in ("prefix", "level")):
                tok.take()
        elif word == "counter":
            pass
        elif word == "ip":
            key = tok.take()
            if key == "saddr":
                src = _nets(_values(tok), sets, tok)
            elif key == "daddr":
                dst = _nets(_values(tok), sets, tok)
            elif key == "protocol":
                vals = _values(tok)
                if len(vals) != 1:
                    raise tok.error("protocol sets are not modelled")
                proto = protocol_number(vals[0], tok)
            else:
                raise tok.error(f"ip {key} not modelled")
        elif word in ("tcp", "udp"):
            proto = protocol_number(word, tok)
            key = tok.take()
            if key == "dport":
                dport = _ports(_values(tok), tok)
            elif key == "sport":
                sport = _ports(_values(tok), tok)
            else:
                raise tok.error(f"{word} {key} not modelled")
        elif word == "icmp":
            proto = 1
            key = tok.take()
            vals = _values(tok)
            if key == "type":
                if len(vals) != 1 or not (vals[0] in _ICMP or _byte(vals[0])):
                    raise tok.error(f"icmp type {vals} not modelled")
                itype = _ICMP[vals[0]] if vals[0] in _ICMP else int(vals[0])
            elif key == "code":
                if len(vals) != 1 or not _byte(vals[0]):
                    raise tok.error(f"icmp code {vals} not modelled (one number 0-255)")
                icode = int(vals[0])
            else:
                raise tok.error(f"icmp {key} not modelled (icmp type and icmp code are)")
        elif word == "ct":
            if tok.take() != "state" or tok.take() != "established,related":
                raise tok.error("ct conditions other than `ct state established,related` are not modelled")
            established = True
        else:
            raise tok.error(f"nftables statement {word!r} not modelled")
    if not verdict:
        return None
    flags = None
    if established:  # a packet of a tracked connection: for TCP, ACK or RST is set; others over-approximated
        if proto == 6:
            from countynet.verify.symbolic.model import ESTABLISHED

            flags = ESTABLISHED
        else:
            notes.append(f"{tok.path}:{tok.line}: `ct state established,related` on a non-TCP rule is taken as "
                         "always true (over-approximation)")
    try:
        return verdict, Match(src, dst, proto, sport, dport, flags, itype, icode), comment, iif, target
    except ValueError as exc:
        raise tok.error(str(exc)) from exc


def _byte(word: str) -> bool:
    """Is `word` a number 0-255 (an ICMP type or code)?"""
    return word.isdigit() and int(word) <= 255


def parse(hostname: str, files: dict[str, str]) -> DeviceConfig:
    """The host's input and forward chains as hops, and its interface addresses."""
    dev = DeviceConfig(hostname, "linux")
    text = files.get(NFT_FILE)
    path = f"{hostname}/{NFT_FILE}"
    ifaces = files.get(IFACES_FILE, "")
    current = ""
    for line in ifaces.splitlines():
        w = line.split()
        if w[:1] == ["iface"] and len(w) > 1:
            current = w[1]
        elif w[:1] == ["address"] and current and "/" in w[1]:
            dev.addresses.setdefault(current, ipaddress.IPv4Interface(w[1]))
    swan = files.get(SWANCTL_FILE, "")
    child = ""
    for n, line in enumerate(swan.splitlines(), start=1):
        m = re.match(r"\s*([\w.-]+) \{", line)
        if m:
            child = m.group(1)
        m = re.match(r"\s*remote_ts\s*=\s*(.*)", line)
        if m:
            try:
                dev.tunnels[child] = [ipaddress.IPv4Network(x.strip()) for x in m.group(1).split(",") if x.strip()]
            except ValueError as exc:
                raise ParseError(f"{hostname}/{SWANCTL_FILE}", n, f"bad traffic selector ({exc})", line) from exc
    # route-based IPsec: selectors 0.0.0.0/0, the spokes are what FRR routes into each xfrm interface
    for n, line in enumerate(files.get(FRR_FILE, "").splitlines(), start=1):
        w = line.split()
        if len(w) == 4 and w[:2] == ["ip", "route"] and w[3].startswith("xfrm"):
            try:
                dev.tunnels.setdefault(w[3], []).append(ipaddress.IPv4Network(w[2]))
            except ValueError as exc:
                raise ParseError(f"{hostname}/{FRR_FILE}", n, f"bad route ({exc})", line) from exc
    for name in [k for k, v in dev.tunnels.items() if any(x.prefixlen == 0 for x in v)]:
        del dev.tunnels[name]  # a 0.0.0.0/0 selector says nothing about where the spokes are
    if text is None:
        return dev
    sets: dict[str, list[str]] = {}
    chains: dict[str, tuple[str, list[_Rule], bool]] = {}
    base: set[str] = set()
    chain = ""
    set_name = ""
    for n, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s.startswith("#") or s in ("}", "flush ruleset") or s.startswith("table "):
            continue
        tok = Tokens(shlex.split(s.replace("{", " { ").replace("}", " } ").replace(";", " ")), path, n, raw)
        w = tok.words
        if w[0] == "set":
            set_name, chain = w[1], ""
            sets[set_name] = []
            continue
        if w[0] == "chain":
            chain, set_name = w[1], ""
            chains[chain] = ("accept", [], False)
            continue
        if set_name:
            if w[0] == "elements":
                sets[set_name] = [x for x in re.split(r"[\s,{}=]+", s.partition("=")[2]) if x]
            continue
        if not chain:
            raise tok.error("statement outside a chain")
        policy, lines, stateful = chains[chain]
        if w[0] == "type":
            base.add(chain)
            m = re.search(r"policy (accept|drop)", s)
            if m:
                chains[chain] = (m.group(1), lines, stateful)
            continue
        if s.startswith("ct state established,related accept"):
            if lines:
                raise tok.error("`ct state established,related accept` after other rules is not modelled")
            chains[chain] = (policy, lines, True)
            continue
        if s.startswith("ct state invalid drop"):
            continue
        rule = _rule(tok, sets, dev.notes)
        if rule is not None:
            verdict, match, comment, iif, target = rule
            if verdict == "return" and chain in base:
                raise tok.error("return in a base chain is not modelled")
            lines.append(_Rule(verdict, match, Label(hostname, f"nftables {chain}", n, comment), iif, target))
    if "input" not in chains:
        raise ParseError(path, 0, "no input chain")
    for _name, (_p, lines, _s) in chains.items():
        for r in lines:
            if r.verdict == "jump":
                if r.target not in chains or r.target in base:
                    raise ParseError(path, r.label.line, f"jump to {r.target}, which is not a regular chain")
                if any(x.verdict == "jump" for x in chains[r.target][1]):
                    raise ParseError(path, r.label.line, "nested jumps are not modelled")

    def filt(name: str, iif: str | None = None) -> Filter:
        """The chain as a first-match filter for packets arriving on `iif` (None: iifname conditions are taken
        as true). A jump as the last rule inlines its chain: its `return` and its end fall back to this chain's
        policy."""
        policy, rules, _ = chains.get(name, ("accept", [], False))
        fallback = "permit" if policy == "accept" else "deny"
        out: list[Line] = []
        kept = [r for r in rules if iif is None or r.iif is None or iif in r.iif]
        for i, r in enumerate(kept):
            if r.verdict == "jump" and i != len(kept) - 1:
                raise ParseError(path, r.label.line, "a jump that is not the chain's last rule (for packets from "
                                 f"{iif or 'any interface'}) is not modelled")
        for r in kept:
            if r.verdict == "jump":
                sub = chains[r.target][1]
                prefix = Match() == r.match
                for x in sub:
                    if iif is not None and x.iif is not None and iif not in x.iif:
                        continue
                    if not prefix:
                        raise ParseError(path, r.label.line, "a jump with match conditions is not modelled")
                    act = fallback if x.verdict == "return" else x.verdict
                    out.append(Line(act, x.match, x.label))  # type: ignore[arg-type]
                # the end of the jumped chain returns here, and this was the last rule: the policy decides
                continue
            out.append(Line(r.verdict, r.match, r.label))  # type: ignore[arg-type]
        return Filter(f"nftables {name}" + (f" iif {iif}" if iif else ""), tuple(out), fallback,  # type: ignore
                      hostname)

    forward = chains.get("forward")
    if forward is not None:
        names = sorted({n for r in forward[1] for n in (r.iif or ())})
        dev.forward_by_iif = {n: filt("forward", n) for n in names}
        dev.forward_other = filt("forward", "")
        dev.forward_stateful = forward[2]

    for name in ("input",):
        if name in chains:
            stateful = chains[name][2]
            hop = Stateful(f"{hostname} nftables {name}", filt(name), filt("output") if stateful else None,
                           hostname)
            if name == "input":
                dev.host_input = hop
            else:
                dev.host_forward = hop
    return dev
