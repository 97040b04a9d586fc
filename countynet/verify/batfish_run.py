"""`verify --batfish`: upload the snapshot to a Batfish server and turn its answers into verdicts.

The mapping from answer frames to findings is kept in small pure functions (`*_findings`,
`reachability_observed`) so it is unit-tested with frames shaped exactly like pybatfish's columns; only
`BatfishChecks` talks to a server. Without a reachable server nothing is guessed: `BatfishUnavailable`
is raised and the CLI exits 2 saying how to start one.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from countynet.intent.models import DeviceIntent
from countynet.intent.policy.zones import ZoneMap
from countynet.outputs.build_reader import BuildReader
from countynet.outputs.flows import ALLOWED, DENIED, UNPROVEN, Finding, Flow, Verdict, mismatch_finding
from countynet.outputs.probes import Probe

START_HINT = ("start one with `docker run -d -p 9996:9996 batfish/allinone` on a machine with Docker, then "
              "pass --batfish HOST or set BATFISH_HOST")
SUCCESS = {"ACCEPTED", "DELIVERED_TO_SUBNET", "EXITS_NETWORK"}


class BatfishUnavailable(Exception):
    """No Batfish server answered; verification cannot run (exit 2), never a silent pass."""


def _rows(frame: Any) -> Iterable[dict[str, Any]]:
    return frame.to_dict("records") if frame is not None and len(frame) else []


def parse_findings(frame: Any) -> list[Finding]:
    """fileParseStatus: every file must be PASSED."""
    return [Finding("parse", str(r["File_Name"]), f"parse status {r['Status']} (format {r.get('File_Format')})")
            for r in _rows(frame) if r["Status"] != "PASSED"]


def init_issue_findings(frame: Any) -> list[Finding]:
    """initIssues: conversion/red-flag errors are violations; plain warnings are not."""
    out = []
    for r in _rows(frame):
        kind = str(r.get("Type", ""))
        if "error" in kind.lower() or "red flag" in kind.lower():
            nodes = ",".join(r.get("Nodes") or [])
            out.append(Finding("init", nodes, f"{kind}: {r.get('Details')}"))
    return out


def undefined_ref_findings(frame: Any) -> list[Finding]:
    return [Finding("undefined-reference", str(r["File_Name"]),
                      f"{r['Struct_Type']} {r['Ref_Name']} used by {r['Context']} is not defined")
            for r in _rows(frame)]


def ospf_findings(frame: Any) -> list[Finding]:
    out = []
    for r in _rows(frame):
        if r["Session_Status"] != "ESTABLISHED":
            out.append(Finding("ospf", str(r["Interface"]),
                                 f"OSPF session to {r['Remote_Interface']} is {r['Session_Status']}"))
    return out


def bgp_findings(frame: Any, external: set[str]) -> list[Finding]:
    """bgpSessionStatus: every session must be ESTABLISHED, except to peers outside the snapshot."""
    out = []
    for r in _rows(frame):
        if r["Established_Status"] == "ESTABLISHED":
            continue
        if str(r.get("Remote_IP")) in external:
            continue  # the city's router is not in the snapshot; Batfish cannot see its side
        out.append(Finding("bgp", f"{r['Node']} -> {r['Remote_IP']}",
                             f"BGP session is {r['Established_Status']}"))
    return out


def ipsec_findings(frame: Any) -> list[Finding]:
    return [Finding("ipsec", f"{r['Node']} -> {r['Remote_Node']}", f"IPsec session is {r['Status']}")
            for r in _rows(frame) if r["Status"] != "IPSEC_SESSION_ESTABLISHED"]


def filter_line_findings(frame: Any) -> list[Finding]:
    return [Finding("unreachable-line", ",".join(map(str, r["Sources"])),
                      f"line never matches: {r['Unreachable_Line']} (blocked by {r['Blocking_Lines']}; "
                      f"{r['Reason']})")
            for r in _rows(frame)]


def reachability_observed(frame: Any) -> str:
    """A reachability answer for one flow: `allowed` if any trace ends in success, else `denied`."""
    for r in _rows(frame):
        for trace in r.get("Traces") or []:
            if getattr(trace, "disposition", None) in SUCCESS:
                return ALLOWED
    return DENIED


def differential_rows(frame: Any) -> list[dict[str, str]]:
    out = []
    for r in _rows(frame):
        before = {getattr(t, "disposition", "?") for t in r.get("Reference_Traces") or []}
        after = {getattr(t, "disposition", "?") for t in r.get("Snapshot_Traces") or []}
        out.append({"flow": str(r["Flow"]), "before": ",".join(sorted(before)), "after": ",".join(sorted(after))})
    return out


def start_location(flow: Flow, zm: ZoneMap, intents: dict[str, DeviceIntent]) -> str:
    """Where Batfish injects the probe: the source LAN's gateway interface, or the edge for outsiders."""
    from countynet.outputs.batfish_snapshot import cisco_name

    kind = zm.kinds[flow.src_zone]
    if kind == "internet":
        fw = sorted(h for h, d in intents.items() if d.role == "firewall")[0]
        out = next(i.name for i in intents[fw].interfaces if i.nat_outside)
        return f"@enter({fw}[{cisco_name(out, intents[fw].flavour)}])"
    if kind == "city":
        h = next(h for h, d in intents.items() if d.role == "city_edge")
        iface = next(i.name for i in intents[h].interfaces if i.acl_in)
        return f"@enter({h}[{cisco_name(iface, intents[h].flavour)}])"
    if kind == "device-mgmt":
        return flow.src_device
    import ipaddress

    addr = ipaddress.IPv4Address(flow.src_address)
    members = zm.members.get(flow.src_zone, [])
    # the flow's source device is its gateway, or a host of the segment (source_hosts): enter at the gateway
    m = next((m for m in members if m.device == flow.src_device and addr in m.prefix), None) or next(
        m for m in members if addr in m.prefix)
    return f"@enter({m.device}[{cisco_name(m.interface, intents[m.device].flavour)}])"


class BatfishChecks:
    """Runs the checks on a real Batfish server."""

    def __init__(self, host: str, network: str = "countynet"):
        try:
            from pybatfish.client.session import Session
        except ImportError as exc:  # pragma: no cover - pybatfish is a dependency
            raise BatfishUnavailable(f"pybatfish is not installed ({exc})") from None
        port = int(os.environ.get("BATFISH_PORT", "9996"))
        try:  # fail fast: pybatfish itself retries a refused connection for many seconds
            socket.create_connection((host, port), timeout=5).close()
        except OSError as exc:
            raise BatfishUnavailable(f"no Batfish server answered at {host}:{port} ({exc.strerror or exc})") from None
        try:
            self.bf = Session(host=host, port=port)
            self.bf.timeout = float(os.environ.get("BATFISH_TIMEOUT", "600"))
            self.bf.get_component_versions()
            self.bf.set_network(network)
        except Exception as exc:
            raise BatfishUnavailable(f"no Batfish server answered at {host}:{port} ({type(exc).__name__})") from None

    def load(self, snapshot_dir: Path, name: str) -> str:
        return str(self.bf.init_snapshot(str(snapshot_dir), name=name, overwrite=True))

    def session_checks(self, snapshot: str, external_peers: set[str]) -> list[Finding]:
        q: Any = self.bf.q  # questions are attached at run time from the server's templates
        out = parse_findings(q.fileParseStatus().answer(snapshot=snapshot).frame())
        out += init_issue_findings(q.initIssues().answer(snapshot=snapshot).frame())
        out += undefined_ref_findings(q.undefinedReferences().answer(snapshot=snapshot).frame())
        out += ospf_findings(q.ospfSessionCompatibility().answer(snapshot=snapshot).frame())
        out += bgp_findings(q.bgpSessionStatus().answer(snapshot=snapshot).frame(), external_peers)
        out += ipsec_findings(q.ipsecSessionStatus().answer(snapshot=snapshot).frame())
        out += filter_line_findings(q.filterLineReachability().answer(snapshot=snapshot).frame())
        return out

    def flow_verdict(self, snapshot: str, flow: Flow, start: str) -> str:
        from pybatfish.datamodel.flow import HeaderConstraints, PathConstraints

        headers: dict[str, Any] = {"srcIps": flow.src_address, "dstIps": flow.dst_address,
                                   "ipProtocols": [flow.protocol.upper()]}
        if flow.protocol in ("tcp", "udp"):
            headers["dstPorts"] = str(flow.port)
        q: Any = self.bf.q
        ans = q.reachability(pathConstraints=PathConstraints(startLocation=start),
                                     headers=HeaderConstraints(**headers), actions="SUCCESS").answer(
            snapshot=snapshot)
        return reachability_observed(ans.frame())

    def probe_verdict(self, snapshot: str, probe: Probe, start: str) -> str:
        """Batfish's fate for one probe packet: its exact header (ports, SYN alone for TCP, ICMP type and code)."""
        from pybatfish.datamodel.flow import HeaderConstraints, MatchTcpFlags, PathConstraints, TcpFlags

        headers = probe_headers(probe)
        if probe.protocol == "tcp":
            headers["tcpFlags"] = [MatchTcpFlags(TcpFlags(syn=True))]  # every flag tested: SYN set, the rest clear
        q: Any = self.bf.q
        ans = q.reachability(pathConstraints=PathConstraints(startLocation=start),
                             headers=HeaderConstraints(**headers), actions="SUCCESS").answer(snapshot=snapshot)
        return reachability_observed(ans.frame())

    def differential(self, snapshot: str, reference: str) -> list[dict[str, str]]:
        q: Any = self.bf.q
        ans = q.differentialReachability().answer(snapshot=snapshot, reference_snapshot=reference)
        return differential_rows(ans.frame())


def probe_headers(p: Probe) -> dict[str, Any]:
    """HeaderConstraints arguments of one probe packet (its TCP flags are added by the caller: SYN alone)."""
    h: dict[str, Any] = {"srcIps": p.src, "dstIps": p.dst, "ipProtocols": [p.protocol.upper()]}
    if p.protocol in ("tcp", "udp"):
        h.update(srcPorts=str(p.sport), dstPorts=str(p.dport))
    elif p.protocol == "icmp":
        h.update(icmpTypes=[p.icmp_type], icmpCodes=[p.icmp_code])
    return h


def batfish_probes(build: BuildReader, checks: Any, snapshot: str, probes: list[Probe]) -> list[Verdict]:
    """Batfish's verdict on every probe of a probe set (the snapshot already loaded as `snapshot`), in the
    shared vocabulary: a probe proves one packet."""
    zm = build.zone_map()
    intents = build.intents()
    out = []
    for p in probes:
        f = p.flow()
        try:
            start = start_location(f, zm, intents)
        except (StopIteration, IndexError, KeyError):
            out.append(Verdict(f, UNPROVEN, "no Batfish start location for its source"))
            continue
        out.append(Verdict(f, checks.probe_verdict(snapshot, p, start), "Batfish", where=start))
    return out


SNAPSHOT_DIR = "batfish"


def snapshot_dir(build: BuildReader) -> Path:
    """The build's Batfish snapshot directory (`build/batfish/`), every file checked against the manifest."""
    build.check(prefixes=[f"{SNAPSHOT_DIR}/"])
    return build.path(SNAPSHOT_DIR)


def run_batfish(build: BuildReader, checks: BatfishChecks, offline: list[Verdict],
                reference: BuildReader | None = None) -> tuple[list[Verdict], list[Finding], list[dict[str, str]]]:
    """Upload the build's snapshot, run the session checks and every flow of the matrix (compared with the
    offline verdicts `offline`), and, given a reference build, the differential reachability."""
    name = checks.load(snapshot_dir(build), "candidate")
    intents = build.intents()
    external = {n.address for d in intents.values() if d.routing.bgp for n in d.routing.bgp.neighbors}
    findings = checks.session_checks(name, external)
    zm = build.zone_map()
    verdicts = []
    for v in offline:
        f = v.flow
        start = start_location(f, zm, intents)
        observed = checks.flow_verdict(name, f, start)
        agree = "agrees with" if observed == v.observed else f"DISAGREES with the offline check ({v.observed})"
        got = Verdict(f, observed, f"Batfish {agree}", where=start)
        verdicts.append(got)
        if got.status != "ok":
            findings.append(mismatch_finding(got, "Batfish"))
    diffs: list[dict[str, str]] = []
    if reference is not None:
        diffs = checks.differential(name, checks.load(snapshot_dir(reference), "reference"))
    return verdicts, findings, diffs
