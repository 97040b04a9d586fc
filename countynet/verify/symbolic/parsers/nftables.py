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

from countynet.verify.symbolic.model import Filter, Label, Line, Match, PortRange, Stateful
from countynet.verify.symbolic.parsers.common import DeviceConfig, ParseError, Tokens, protocol_number

_ICMP = {"echo-request": 8, "echo-reply": 0, "destination-unreachable": 3, "time-exceeded": 11}
NFT_FILE = "etc/nftables.conf"
IFACES_FILE = "etc/network/interfaces"


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


def _rule(tok: Tokens, sets: dict[str, list[str]]) -> tuple[str, Match, str] | None:
    """(verdict, match, comment) of one rule; None for a rule that matches nothing from the network or decides
    nothing."""
    src = dst = None
    proto: int | None = None
    sport = dport = None
    itype: int | None = None
    verdict = ""
    comment = ""
    while not tok.done():
        word = tok.take()
        if word == "iif":
            return None
        if word == "iifname" or word == "oifname":
            _values(tok)
        elif word in ("accept", "drop", "reject"):
            verdict = "permit" if word == "accept" else "deny"
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
            if tok.take() != "type":
                raise tok.error("only icmp type is modelled")
            vals = _values(tok)
            if len(vals) != 1 or vals[0] not in _ICMP:
                raise tok.error(f"icmp type {vals} not modelled")
            itype = _ICMP[vals[0]]
        elif word == "ct":
            raise tok.error("ct state is only modelled as `ct state established,related accept` and "
                            "`ct state invalid drop`")
        else:
            raise tok.error(f"nftables statement {word!r} not modelled")
    if not verdict:
        return None
    try:
        return verdict, Match(src, dst, proto, sport, dport, None, itype), comment
    except ValueError as exc:
        raise tok.error(str(exc)) from exc


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
    if text is None:
        return dev
    sets: dict[str, list[str]] = {}
    chains: dict[str, tuple[str, list[Line], bool]] = {}
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
        rule = _rule(tok, sets)
        if rule is not None:
            verdict, match, comment = rule
            lines.append(Line(verdict, match, Label(hostname, f"nftables {chain}", n, comment)))  # type: ignore
    if "input" not in chains:
        raise ParseError(path, 0, "no input chain")

    def filt(name: str) -> Filter:
        policy, lines, _ = chains.get(name, ("accept", [], False))
        return Filter(f"nftables {name}", tuple(lines), "permit" if policy == "accept" else "deny", hostname)

    for name in ("input", "forward"):
        if name in chains:
            stateful = chains[name][2]
            hop = Stateful(f"{hostname} nftables {name}", filt(name), filt("output") if stateful else None,
                           hostname)
            if name == "input":
                dev.host_input = hop
            else:
                dev.host_forward = hop
    return dev
