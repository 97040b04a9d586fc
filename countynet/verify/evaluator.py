"""Offline policy check: what do the compiled filters and routes let through, and is that the policy?

For every flow of the probe matrix it finds the filters on the path (the source LAN gateway's ingress
filter for the request, the destination gateway's for the reply; the firewall or city edge for outside
zones), evaluates them first-match like the devices do, checks a route exists, and compares with the
policy's verdict. It also finds filter lines that can never match (shadowed by an earlier line).
Fast and serverless: it reads only the per-device intents and the zones of the build. Batfish and the lab
test the same flows, with the same verdict vocabulary (`countynet.outputs.flows`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from countynet.intent.models import AclRule, DeviceIntent
from countynet.intent.policy.zones import ZoneMap
from countynet.outputs.flows import ALLOWED, DENIED, Finding, Flow, Verdict, mismatch_finding

EPHEMERAL = 40000


@dataclass(frozen=True)
class Packet:
    protocol: str
    src: int
    dst: int
    sport: int
    dport: int
    ack: bool


@dataclass(frozen=True)
class Line:
    """An ACL line in integer form, for fast matching and coverage checks."""

    seq: int
    action: str
    protocol: str
    src: tuple[int, int]
    dst: tuple[int, int]
    dport: tuple[int, int] | None
    sport: tuple[int, int] | None
    established: bool
    remark: str

    @classmethod
    def of(cls, r: AclRule) -> Line:
        def rng(p: str) -> tuple[int, int]:
            n = ipaddress.IPv4Network(p)
            return int(n.network_address), int(n.broadcast_address)

        dport = (r.port_min, r.port_max if r.port_max is not None else r.port_min) if r.port_min is not None else None
        sport = ((r.source_port_min, r.source_port_max if r.source_port_max is not None else r.source_port_min)
                 if r.source_port_min is not None else None)
        return cls(r.seq, r.action, r.protocol, rng(r.source), rng(r.destination), dport, sport, r.established,
                   r.remark)

    def matches(self, p: Packet) -> bool:
        if self.protocol != "ip" and self.protocol != p.protocol:
            return False
        if not (self.src[0] <= p.src <= self.src[1] and self.dst[0] <= p.dst <= self.dst[1]):
            return False
        if self.dport and not (self.dport[0] <= p.dport <= self.dport[1]):
            return False
        if self.sport and not (self.sport[0] <= p.sport <= self.sport[1]):
            return False
        return not (self.established and not p.ack)

    def covers(self, other: Line) -> bool:
        """Every packet `other` matches, this line matches too."""
        if self.protocol != "ip" and self.protocol != other.protocol:
            return False
        if not (self.src[0] <= other.src[0] and other.src[1] <= self.src[1]):
            return False
        if not (self.dst[0] <= other.dst[0] and other.dst[1] <= self.dst[1]):
            return False
        for mine, theirs in ((self.dport, other.dport), (self.sport, other.sport)):
            if mine and (theirs is None or not (mine[0] <= theirs[0] and theirs[1] <= mine[1])):
                return False
        return not (self.established and not other.established)


@dataclass
class Report:
    """The offline check's verdict on every flow, and its findings (mismatches and dead filter lines)."""

    verdicts: list[Verdict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _int(addr: str) -> int:
    return int(ipaddress.IPv4Address(addr.split("/")[0]))


class Evaluator:
    def __init__(self, intents: dict[str, DeviceIntent], zm: ZoneMap):
        self.intents = intents
        self.zm = zm
        self.lines: dict[tuple[str, str], list[Line]] = {}
        for host, d in intents.items():
            for f in d.filters:
                self.lines[(host, f.name)] = [Line.of(r) for r in f.rules]
        self.gateways: list[tuple[int, int, str, str | None]] = []  # start, end, device, filter
        for zone, members in zm.members.items():
            if zm.kinds[zone] == "device-mgmt":
                continue
            for m in members:
                acl = self.intents[m.device].interface(m.interface).acl_in
                self.gateways.append((int(m.prefix.network_address), int(m.prefix.broadcast_address),
                                      m.device, acl))
        self.edge: dict[str, list[tuple[str, str]]] = {"internet": [], "city": []}
        for host, d in intents.items():
            for i in d.interfaces:
                if d.role == "firewall" and i.acl_out:
                    self.edge["internet"].append((host, i.acl_out))
                if d.role == "city_edge" and i.acl_in:
                    self.edge["city"].append((host, i.acl_in))
        self._routes = self._routable()

    def _routable(self) -> list[tuple[int, int]]:
        nets: list[ipaddress.IPv4Network] = []
        for d in self.intents.values():
            o = d.routing.ospf
            if o is None:
                continue
            for i in d.interfaces:
                if i.ospf and i.address:
                    nets.append(ipaddress.IPv4Interface(i.address).network)
            nets += [ipaddress.IPv4Network(p) for p in o.redistribute_prefixes]
        return [(int(n.network_address), int(n.broadcast_address)) for n in ipaddress.collapse_addresses(nets)]

    def filters_at(self, addr: int, kind: str) -> list[tuple[str, str | None]]:
        if kind in ("internet", "city"):
            return [(h, f) for h, f in self.edge[kind]]
        hits = [(e - s, dev, acl) for s, e, dev, acl in self.gateways if s <= addr <= e]
        if not hits:
            return []
        best = min(h[0] for h in hits)
        return [(dev, acl) for size, dev, acl in hits if size == best]

    def run(self, device: str, fname: str | None, p: Packet) -> tuple[bool, str]:
        if fname is None:
            return True, "no filter"
        for line in self.lines.get((device, fname), []):
            if line.matches(p):
                return line.action == "permit", f"{device} {fname} line {line.seq} ({line.remark})"
        return True, f"{device} {fname}: no line matched (platform default permit)"

    def route_ok(self, flow: Flow) -> tuple[bool, str]:
        dst = _int(flow.dst_address)
        dkind = self.zm.kinds[flow.dst_zone]
        src_dev = self.intents.get(flow.src_device)
        if src_dev is not None and src_dev.routing.ospf is None:
            best: ipaddress.IPv4Network | None = None
            for r in src_dev.routing.static:
                n = ipaddress.IPv4Network(r.prefix)
                if int(n.network_address) <= dst <= int(n.broadcast_address) and (
                        best is None or n.prefixlen > best.prefixlen):
                    best = n
            if best is None:
                return False, f"{flow.src_device} has no route to {flow.dst_address}"
            if best.prefixlen == 0 and src_dev.vpn is not None and dkind != "internet":
                return False, f"{flow.src_device} would send {flow.dst_address} to its ISP, not the tunnel"
            return True, f"static {best} on {flow.src_device}"
        if dkind in ("internet", "city"):
            return True, "default / BGP route"
        if any(s <= dst <= e for s, e in self._routes):
            return True, "OSPF"
        return False, f"no route to {flow.dst_address} in the OSPF domain"

    def verdict(self, flow: Flow) -> Verdict:
        skind, dkind = self.zm.kinds[flow.src_zone], self.zm.kinds[flow.dst_zone]
        src, dst = _int(flow.src_address), _int(flow.dst_address)
        port = flow.port if flow.protocol in ("tcp", "udp") else 0
        if any(s <= src <= e and s <= dst <= e for s, e, _d, _f in self.gateways):
            return Verdict(flow, ALLOWED, "same LAN segment: no router (and no filter) on the path")
        fwd = Packet(flow.protocol, src, dst, EPHEMERAL, port, False)
        rev = Packet(flow.protocol, dst, src, port, EPHEMERAL, True)
        for dev, acl in self.filters_at(src, skind):
            ok, why = self.run(dev, acl, fwd)
            if not ok:
                return Verdict(flow, DENIED, f"request dropped by {why}")
        if skind in ("internet", "city") and dkind in ("internet", "city"):
            return Verdict(flow, DENIED, "outside to outside")
        for dev, acl in self.filters_at(dst, dkind):
            ok, why = self.run(dev, acl, rev)
            if not ok:
                return Verdict(flow, DENIED, f"reply dropped by {why}")
        routed, why = self.route_ok(flow)
        if not routed:
            return Verdict(flow, DENIED, why)
        return Verdict(flow, ALLOWED, why)


def shadowed(d: DeviceIntent) -> list[Finding]:
    out = []
    for f in d.filters:
        lines = [Line.of(r) for r in f.rules]
        for i, line in enumerate(lines):
            for earlier in lines[:i]:
                if earlier.covers(line):
                    same = earlier.action == line.action
                    out.append(Finding("shadowed-line", d.hostname, (
                        f"{d.hostname} {f.name} line {line.seq} ({line.action} {line.remark}) can never match: line "
                        f"{earlier.seq} ({earlier.action} {earlier.remark}) matches all of it first"
                        + ("" if same else "; its action differs, so the later line's intent is lost")),
                        filter=f.name, seq=line.seq))
                    break
    return out


def verify(intents: dict[str, DeviceIntent], zm: ZoneMap, flows: list[Flow]) -> Report:
    """Evaluate every flow against the compiled filters and routes; list mismatches and shadowed lines."""
    ev = Evaluator(intents, zm)
    rep = Report()
    for flow in flows:
        v = ev.verdict(flow)
        rep.verdicts.append(v)
        if v.status != "ok":
            rep.findings.append(mismatch_finding(v, "the offline check"))
    for d in intents.values():
        rep.findings.extend(shadowed(d))
    return rep

