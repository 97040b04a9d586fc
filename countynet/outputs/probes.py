"""The probe set: concrete packets drawn from the symbolic engine's regions, for the lab to send (issue 12 part 7).

`countynet verify --offline --probes [SCOPE]` computes, for every endpoint pair the lab can reach (the lab scope's
LAN segments, in-scope servers, the internet and the city), the regions of traffic the policy admits (and any the
network admits beyond it, or drops within it) and writes one probe per region into `<reports>/probes.json`:

* ``inside``: one packet inside the region (expected allowed by the policy);
* ``boundary``: the last port of the region's port range (the first is the inside probe);
* ``counterexample``: a denied neighbour just outside the admitted space: the port just below or above the range,
  the other of tcp/udp on the same port, the same service to another host of the destination; and, for a pair
  the policy does not connect at all, one denied packet.

Each probe carries the policy's expectation and the offline verdict, so the lab (which must not import verify)
only sends packets and compares. A probe proves one packet, never its region. The file has its own schema and
its provenance: the sha256 of the build's `manifest.json`; the reader refuses a probe set made from another build.

This module also holds what the lab and verify must agree on without importing each other (the outside probe hosts'
addresses) and the three-engine comparison table (offline, Batfish, lab).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from countynet.outputs.flows import ALLOWED, DENIED, EXPECTATIONS, UNPROVEN, Flow

PROBES_FILE = "probes.json"
SCHEMA = "countynet-probe-set/1"
INSIDE, BOUNDARY, COUNTER = "inside", "boundary", "counterexample"
KINDS = (INSIDE, BOUNDARY, COUNTER)
# the lab's internet probe host sits on the first of these networks no county address overlaps, at .100
INTERNET_LANS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "100.127.255.0/24")
HOST_OFFSET = 100


class ProbeSetError(ValueError):
    """A probe set that is missing, malformed or made from another build; the message says how to fix it."""


def internet_lan(used: Iterable[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """The network of the lab's internet probe host: the first of INTERNET_LANS no address in `used` overlaps."""
    nets = list(used)
    return next(n for n in map(ipaddress.IPv4Network, INTERNET_LANS) if not any(n.overlaps(u) for u in nets))


def internet_host(used: Iterable[ipaddress.IPv4Network]) -> ipaddress.IPv4Address:
    """The lab's internet probe host address (`internet_lan(used)` .100)."""
    return internet_lan(used).network_address + HOST_OFFSET


def city_lan(prefix: str) -> ipaddress.IPv4Network:
    """The network of the lab's city probe host: the first /24 of the city's first prefix."""
    return next(ipaddress.IPv4Network(prefix).subnets(new_prefix=24))


def city_host(prefix: str) -> ipaddress.IPv4Address:
    """The lab's city probe host address (`city_lan(prefix)` .100)."""
    return city_lan(prefix).network_address + HOST_OFFSET


def manifest_digest(build_dir: Path) -> str:
    """sha256 of a build's manifest.json: the probe set's provenance (every build file's hash is in it)."""
    return hashlib.sha256((Path(build_dir) / "manifest.json").read_bytes()).hexdigest()


@dataclass(frozen=True)
class Region:
    """One region of an endpoint pair: a product of prefixes, protocols and port ranges, as the engine summarised it.

    `kind`: ``admitted`` (the policy admits it as new connections, and so must the network), ``network-only``
    (the network admits it, the policy does not) or ``policy-only`` (the policy admits it, the network drops it).
    `probed` says whether a probe stands for it; `reason` why not."""

    id: str
    kind: str
    src_endpoint: str
    dst_endpoint: str
    src_zone: str
    dst_zone: str
    text: str
    packets: int
    rule: str
    probed: bool
    reason: str = ""


@dataclass(frozen=True)
class Probe:
    """One packet to send: its header, the region it stands for, what the policy expects and what offline saw."""

    id: str
    kind: str  # inside | boundary | counterexample
    region: str  # the region id it stands for (a counterexample: the region it neighbours, or '' for a pair)
    why: str  # "first port of 8000-8080", "port just above 8000-8080", "udp instead of tcp", ...
    src_zone: str
    dst_zone: str
    src_endpoint: str
    dst_endpoint: str
    protocol: str  # tcp | udp | icmp | <number>
    src: str
    dst: str
    sport: int
    dport: int
    flags: int
    icmp_type: int
    icmp_code: int
    expected: str  # the policy: allowed | denied
    offline: str  # the exhaustive check on the build: allowed | denied (request and its answer on every path)
    rule: str  # the policy rule the packet belongs to ('' none)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"probe {self.id}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.expected not in EXPECTATIONS or self.offline not in EXPECTATIONS:
            raise ValueError(f"probe {self.id}: expected/offline must be one of {EXPECTATIONS}")
        ipaddress.IPv4Address(self.src)
        ipaddress.IPv4Address(self.dst)

    @property
    def packet(self) -> str:
        """The packet in the engine's words (`tcp 10.0.0.1:1024 -> 10.0.1.2:443 [SYN]`)."""
        if self.protocol in ("tcp", "udp"):
            text = f"{self.protocol} {self.src}:{self.sport} -> {self.dst}:{self.dport}"
            return text + (" [SYN]" if self.protocol == "tcp" and self.flags == 2 else
                           f" [flags {self.flags}]" if self.protocol == "tcp" else "")
        if self.protocol == "icmp":
            return f"icmp {self.src} -> {self.dst} type {self.icmp_type} code {self.icmp_code}"
        return f"{self.protocol} {self.src} -> {self.dst}"

    def flow(self) -> Flow:
        """The probe as a flow of the shared verification model (for verdicts and reports); its rule names the
        probe (`probe p00012 inside r0003: rule`)."""
        return Flow(f"probe {self.id} {self.kind} {self.region or '-'}: {self.rule or 'no rule'}", self.src_zone,
                    self.dst_zone, "", self.src, "", self.dst, self.protocol if self.protocol in
                    ("tcp", "udp", "icmp") else "ip", self.dport, self.expected)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Probe:
        return cls(**{f.name: data[f.name] for f in fields(cls)})


def probe_id_of(flow_rule: str) -> str | None:
    """The probe id of a flow made by `Probe.flow()`, else None."""
    parts = flow_rule.split()
    return parts[1] if len(parts) > 1 and parts[0] == "probe" else None


@dataclass
class ProbeSet:
    """The probes of one build for one lab scope, with the regions they stand for and what was left out."""

    build_manifest: str
    scope: str
    hosts: list[str]
    max_per_pair: int
    pairs: int
    regions: list[Region] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts for reports: pairs, regions (probed / not, per reason), probes per kind."""
        reasons: dict[str, int] = {}
        for r in self.regions:
            if not r.probed:
                key = r.reason.split(":")[0]
                reasons[key] = reasons.get(key, 0) + 1
        return {"endpoint pairs": self.pairs, "regions": len(self.regions),
                "regions probed": sum(r.probed for r in self.regions),
                "regions not probed": sum(not r.probed for r in self.regions), "not probed because": reasons,
                "probes": len(self.probes), **{f"{k} probes": sum(p.kind == k for p in self.probes) for k in KINDS},
                "max probes per pair": self.max_per_pair}

    def as_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "build_manifest": self.build_manifest, "scope": self.scope, "hosts": self.hosts,
                "max_per_pair": self.max_per_pair, "pairs": self.pairs, "summary": self.summary(),
                "notes": self.notes, "what a probe proves": "one packet (and its answer) on the lab's paths: "
                "never its region; the region is proven by the exhaustive check",
                "regions": [asdict(r) for r in self.regions], "probes": [p.as_dict() for p in self.probes]}


def probe_set_json(ps: ProbeSet) -> str:
    """The text of `probes.json`."""
    return json.dumps(ps.as_dict(), indent=1, ensure_ascii=False) + "\n"


def parse_probe_set(text: str) -> ProbeSet:
    """A probe set from its JSON text; ProbeSetError on another schema or a malformed file."""
    try:
        data = json.loads(text)
        if data.get("schema") != SCHEMA:
            raise ProbeSetError(f"schema {data.get('schema')!r}, this countynet reads {SCHEMA}")
        return ProbeSet(data["build_manifest"], data["scope"], list(data["hosts"]), int(data["max_per_pair"]),
                        int(data["pairs"]), [Region(**r) for r in data["regions"]],
                        [Probe.from_dict(p) for p in data["probes"]], list(data.get("notes") or []))
    except ProbeSetError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ProbeSetError(f"malformed probe set ({type(exc).__name__}: {exc})") from None


def read_probe_set(path: Path, build_dir: Path) -> ProbeSet:
    """The probe set at `path`, refused (ProbeSetError) unless it was drawn from the build in `build_dir`."""
    if not path.is_file():
        raise ProbeSetError(f"{path}: no probe set (fix: run `countynet verify --offline --probes` on the build)")
    try:
        ps = parse_probe_set(path.read_text(encoding="utf-8"))
    except ProbeSetError as exc:
        raise ProbeSetError(f"{path}: {exc} (fix: run `countynet verify --offline --probes` again)") from None
    if ps.build_manifest != manifest_digest(build_dir):
        raise ProbeSetError(f"{path}: drawn from another build (its manifest sha256 {ps.build_manifest[:12]} is not "
                            f"{build_dir}/manifest.json's) (fix: run `countynet verify --offline --probes` on "
                            f"{build_dir})")
    return ps


# -- the three engines side by side ---------------------------------------------------------------------------

ENGINE_COLUMNS = ["status", "what", "expected", "offline", "batfish", "lab", "note"]
NO_SERVER = "no server"
NOT_IN_LAB = "not in lab scope"


def _observed(v: Mapping[str, Any] | None, absent: str) -> str:
    if v is None:
        return absent
    if v.get("observed") == UNPROVEN or v.get("status") in ("unproven", "error"):
        return f"unproven ({v.get('reason') or v.get('status')})"
    return str(v.get("observed"))


def _by_key(report: Mapping[str, Any] | None, key: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for v in (report or {}).get(key) or []:
        f = Flow.from_dict(v)
        out[f.rule + " " + f.key()] = v
    return out


def engine_rows(offline: Mapping[str, Any], probes: ProbeSet | None, batfish: Mapping[str, Any] | None,
                lab: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """One row per matrix flow, per region of the probe set and per probe: the policy's expectation and what
    each engine observed (a region row: the exhaustive check's word on all its packets; the other engines
    observe its probes).

    `offline`, `batfish`, `lab` are the reports (`verify-offline.json`, `verify-batfish.json`, `lab-test.json`;
    None when that engine did not run). A row's status is ``disagree`` when an engine observed (allowed or
    denied) something else than the policy expects, ``agree`` when every engine that observed it agrees with the
    policy, ``unproven`` when none observed it. Unproven is never counted as agreement of that engine: the
    row names which engines proved it."""
    rows: list[dict[str, str]] = []
    off, bf, lb = _by_key(offline, "flows"), _by_key(batfish, "flows"), _by_key(lab, "flows")
    for key, v in off.items():
        rows.append(_row(key, str(v["expected"]), _observed(v, "not run"), bf.get(key), lb.get(key),
                         batfish is not None, lab is not None))
    if probes is not None:
        by_region: dict[str, list[str]] = {}
        for p in probes.probes:
            by_region.setdefault(p.region, []).append(p.id)
        for r in probes.regions:  # the regions themselves: offline's exact, packet-level word on each
            ids = by_region.get(r.id, [])
            see = f"packets of the region: see probe(s) {', '.join(ids[:4])}" if ids else "no probe"
            expected = ALLOWED if r.kind in ("admitted", "policy-only") else DENIED
            word = ALLOWED if r.kind in ("admitted", "network-only") else DENIED
            row = _row(f"region {r.id} ({r.kind}) {r.text}", expected, word, None, None, False, False)
            row.update({"batfish": see, "lab": see})
            rows.append(row)
        bfp = {probe_id_of(str(v["rule"])): v for v in (batfish or {}).get("probes") or []}
        lbp = {probe_id_of(str(v["rule"])): v for v in (lab or {}).get("probes") or []}
        for p in probes.probes:
            rows.append(_row(f"probe {p.id} ({p.kind}, {p.why}) {p.packet}", p.expected, p.offline, bfp.get(p.id),
                             lbp.get(p.id), batfish is not None, lab is not None))
    return rows


def _row(what: str, expected: str, offline: str, bf: Mapping[str, Any] | None, lab: Mapping[str, Any] | None,
         bf_ran: bool, lab_ran: bool) -> dict[str, str]:
    seen = {"offline": offline, "batfish": _observed(bf, "not checked") if bf_ran else NO_SERVER,
            "lab": _observed(lab, NOT_IN_LAB if lab_ran else "lab not run")}
    observed = {k: x for k, x in seen.items() if x in (ALLOWED, DENIED)}
    wrong = sorted(k for k, x in observed.items() if x != expected)
    status = "disagree" if wrong else ("agree" if observed else "unproven")
    note = (f"{', '.join(wrong)} see{'s' if len(wrong) == 1 else ''} it otherwise than the policy" if wrong else
            f"proven by {', '.join(sorted(observed))}" if observed else "no engine observed it")
    return {"status": status, "what": what, "expected": expected, **seen, "note": note}


def engines_data(rows: Sequence[Mapping[str, str]], sources: Mapping[str, str]) -> dict[str, Any]:
    """The comparison report: result (`disagreement` when any row disagrees), counts, sources and rows."""
    n = len(rows)
    summary: dict[str, Any] = {"rows": n, **{s: sum(r["status"] == s for r in rows)
                                             for s in ("agree", "disagree", "unproven")}}
    for eng in ("offline", "batfish", "lab"):
        summary[f"{eng} observed"] = sum(r[eng] in (ALLOWED, DENIED) for r in rows)
    return {"result": "disagreement" if summary["disagree"] else "agreement", "checker": "engines",
            "summary": summary, "sources": dict(sources), "rows": list(rows)}


def load_report(path: Path | None, digest: str) -> dict[str, Any] | None:
    """A verification report (`verify-*.json`, `lab-test.json`) written for the build whose manifest digest is
    `digest`; None when there is none; ProbeSetError when it belongs to another build or is unreadable."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProbeSetError(f"{path}: unreadable report ({exc})") from None
    if not isinstance(data, dict) or data.get("build_manifest") != digest:
        raise ProbeSetError(f"{path}: written for another build (or by an older countynet that did not record it) "
                            "(fix: run that check again on this build)")
    return data


ENGINES = "engines"


def compare_engines(build_dir: Path, verify_dir: Path, out_dir: Path, lab_report: Path | None = None,
                    probe_set: tuple[Path, ProbeSet] | None = None) -> tuple[dict[str, Any], Path, Path]:
    """The comparison table of the offline, Batfish and lab reports of one build, written as `engines.json` /
    `engines.md` in `out_dir`. The offline report (`verify_dir/verify-offline.json`) is required; the probe set,
    the Batfish report and the lab report are used when present (and refused when made from another build).
    `probe_set` is the (path, set) the lab run already read and sent; without it, `verify_dir`'s probe set."""
    from countynet.outputs.reports import write_reports

    digest = manifest_digest(build_dir)
    offline = load_report(verify_dir / "verify-offline.json", digest)
    if offline is None:
        raise ProbeSetError(f"{verify_dir}/verify-offline.json: no offline report (fix: run `countynet verify "
                            "--offline` first)")
    batfish = load_report(verify_dir / "verify-batfish.json", digest)
    lab = load_report(lab_report, digest)
    probes: ProbeSet | None
    if probe_set is not None:
        probes_path, probes = probe_set
    else:
        probes_path = verify_dir / PROBES_FILE
        probes = read_probe_set(probes_path, build_dir) if probes_path.is_file() else None
    rows = engine_rows(offline, probes, batfish, lab)
    sources = {"offline": str(verify_dir / "verify-offline.json"),
               "batfish": str(verify_dir / "verify-batfish.json") if batfish else NO_SERVER,
               "lab": str(lab_report) if lab else "lab not run",
               "probes": str(probes_path) if probes else "no probe set"}
    data = engines_data(rows, sources)
    data["build_manifest"] = digest
    if probes is not None:
        data["probe set"] = probes.summary()
    js, md = write_reports(out_dir, ENGINES, data, rows, ENGINE_COLUMNS,
                           "offline, Batfish and the lab side by side (三种验证对照 / three engines compared)")
    return data, js, md
