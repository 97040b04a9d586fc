"""The verification model: one flow type and one verdict vocabulary for every check of the policy.

`countynet build` writes the probe matrix into `build/policy/flows.json` as :class:`Flow` records;
`verify --offline` (the compiled filters and routes), `verify --batfish` (a Batfish server) and the lab's
probes (real packets) each observe the same flows and give a :class:`Verdict` per flow, so their results can
be compared line by line. The vocabulary:

* expected (what the policy says): ``allowed`` or ``denied``;
* observed (what the check saw): ``allowed``, ``denied`` or ``unproven`` (the check could not observe the
  flow: outside the lab's scope, no probe host, a listener that does not answer);
* status (the comparison): ``ok``, ``mismatch``, ``unproven``, or ``error`` (the check itself failed).

This module sits in `countynet.outputs` because verify and the lab may both import it but not each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

ALLOWED = "allowed"
DENIED = "denied"
UNPROVEN = "unproven"
EXPECTATIONS = (ALLOWED, DENIED)
OBSERVATIONS = (ALLOWED, DENIED, UNPROVEN)

OK = "ok"
MISMATCH = "mismatch"
ERROR = "error"
STATUSES = (OK, MISMATCH, UNPROVEN, ERROR)

FLOWS_FILE = "policy/flows.json"


@dataclass(frozen=True)
class Flow:
    """One concrete flow of the probe matrix, with real addresses and the policy's expectation."""

    rule: str  # the policy rule it tests; `<rule>:other-port`, `<rule>:out-of-scope` or `default-deny`
    src_zone: str
    dst_zone: str
    src_device: str  # device whose LAN (or edge) the source sits behind; '' for outside zones
    src_address: str
    dst_device: str
    dst_address: str
    protocol: str  # tcp | udp | icmp
    port: int  # 0 for icmp
    expected: str  # allowed | denied

    def __post_init__(self) -> None:
        if self.expected not in EXPECTATIONS:
            raise ValueError(f"flow {self.rule}: expected must be one of {EXPECTATIONS}, not {self.expected!r}")

    def key(self) -> str:
        """A stable, readable identity: zones, service and addresses."""
        return f"{self.src_zone}>{self.dst_zone} {self.service} {self.src_address}>{self.dst_address}"

    @property
    def service(self) -> str:
        return self.protocol + (f"/{self.port}" if self.protocol in ("tcp", "udp") else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flow:
        """A flow from its JSON form; unknown keys are ignored, missing ones raise KeyError."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})


def expectation(policy_word: str) -> str:
    """The policy's verb (`allow` / `deny`) as an expectation (`allowed` / `denied`)."""
    return {"allow": ALLOWED, "deny": DENIED, ALLOWED: ALLOWED, DENIED: DENIED}[policy_word]


@dataclass(frozen=True)
class Verdict:
    """What one check observed for one flow, and why."""

    flow: Flow
    observed: str  # allowed | denied | unproven
    reason: str = ""
    where: str = ""  # where the check ran (lab namespaces, Batfish start location); '' offline
    error: bool = False  # the check itself failed (observed is then `unproven`)

    def __post_init__(self) -> None:
        if self.observed not in OBSERVATIONS:
            raise ValueError(f"observed must be one of {OBSERVATIONS}, not {self.observed!r}")

    @property
    def status(self) -> str:
        """ok | mismatch | unproven | error."""
        if self.error:
            return ERROR
        if self.observed == UNPROVEN:
            return UNPROVEN
        return OK if self.observed == self.flow.expected else MISMATCH

    def as_dict(self) -> dict[str, Any]:
        return {**self.flow.as_dict(), "observed": self.observed, "status": self.status, "reason": self.reason,
                "where": self.where}


@dataclass(frozen=True)
class Finding:
    """A problem a check found: a flow whose fate differs from the policy, a dead filter line, a session."""

    kind: str  # missing-allow | extra-allow | shadowed-line | parse | ospf | bgp | reachability | ...
    subject: str  # the device, file or session it is about
    message: str
    flow: Flow | None = None
    filter: str = ""
    seq: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message, "filter": self.filter,
                "seq": self.seq, "flow": self.flow.as_dict() if self.flow else None}


def mismatch_finding(v: Verdict, checker: str) -> Finding:
    """The finding for a verdict whose observation contradicts the policy."""
    f = v.flow
    kind = "missing-allow" if f.expected == ALLOWED else "extra-allow"
    why = f" ({v.reason})" if v.reason else ""
    return Finding(kind, f.src_device or f.dst_device,
                   f"{f.rule}: {f.key()} should be {f.expected} but {checker} sees it {v.observed}{why}", f)


def counts(verdicts: Iterable[Verdict]) -> dict[str, int]:
    """How many verdicts have each status (every status listed, zeros included)."""
    out = dict.fromkeys(STATUSES, 0)
    for v in verdicts:
        out[v.status] += 1
    return out


def flows_json(flows: Iterable[Flow]) -> str:
    """The text of `build/policy/flows.json`."""
    return json.dumps({"flows": [f.as_dict() for f in flows]}, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def parse_flows(text: str) -> list[Flow]:
    """Flows from the text of `build/policy/flows.json`; raises ValueError/KeyError on a malformed file."""
    return [Flow.from_dict(d) for d in json.loads(text)["flows"]]
