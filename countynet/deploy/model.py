"""Plain data the engine passes around: options, per-device results, wave summaries, the report."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class Outcome(enum.StrEnum):
    """What happened to one device. Every device of a run ends in exactly one of these."""

    UNCHANGED = "unchanged"          # running == intended, nothing sent
    WOULD_CHANGE = "would-change"    # dry-run: a diff exists, nothing sent
    COMMITTED = "committed"          # applied, post-checks passed, confirmed, saved
    ROLLED_BACK = "rolled-back"      # applied, then restored to the previous config (verified)
    REJECTED = "rejected"            # the device refused a line; nothing left applied (verified)
    UNREACHABLE = "unreachable"      # no TCP/SSH session
    AUTH_FAILED = "auth-failed"      # wrong credentials or host key
    FAILED = "failed"                # anything else; `detail` says what, `state` says where the device is
    SKIPPED = "skipped"              # not run: the rollout halted before this device

    @property
    def is_failure(self) -> bool:
        return self not in (Outcome.UNCHANGED, Outcome.WOULD_CHANGE, Outcome.COMMITTED, Outcome.SKIPPED)

    @property
    def is_done(self) -> bool:
        """A device a resumed rollout need not visit again."""
        return self in (Outcome.UNCHANGED, Outcome.COMMITTED)


@dataclass
class Options:
    build_dir: Path = Path("build")
    allow_modified: bool = False     # use build files that differ from manifest.json (hand-edited/stale)
    topology: Path | None = None     # topology to check the build's staleness against (default: beside it)
    inventory_dir: Path | None = None  # an operator's Nornir inventory overriding the build's host table
    backup_dir: Path = Path("backups")
    state_file: Path = Path(".countynet/deploy-state.json")
    audit_log: Path = Path("audit/deploy.jsonl")
    # audit copies go to these syslog servers (host[:port]); None: each device's intent management.syslog_servers
    syslog_servers: list[str] | None = None
    known_hosts: Path | None = None
    insecure: bool = False
    commit: bool = False
    limit: str | None = None
    wave: int | None = None
    wave_by: str = "wave"            # wave | township | batch
    batch_size: int = 10
    canary: int = 1
    max_fail: str = "0"              # count or percent ("10%")
    workers: int = 10
    rollback_timer: int = 300        # seconds the automatic rollback waits for a confirm
    conn_timeout: float = 10.0
    command_timeout: float = 30.0
    change_id: str | None = None
    resume: bool = False
    operator: str | None = None
    check_retries: int = 3           # post-checks are retried (routing may need a moment to converge)
    check_interval: float = 3.0


@dataclass
class DeviceResult:
    host: str
    outcome: Outcome
    detail: str = ""
    wave: str = ""
    diff: str = ""                   # masked remediation / unified diff
    diff_sha256: str = ""
    added: int = 0
    removed: int = 0
    backup: str = ""
    checks: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcome"] = self.outcome.value
        return d


@dataclass
class WaveSummary:
    name: str
    hosts: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    halted: bool = False


@dataclass
class Report:
    change_id: str
    commit: bool
    results: dict[str, DeviceResult] = field(default_factory=dict)
    waves: list[WaveSummary] = field(default_factory=list)
    halted: bool = False
    halt_reason: str = ""
    warnings: list[str] = field(default_factory=list)  # build files used although modified (allow_modified)

    @property
    def failed(self) -> list[str]:
        return [h for h, r in self.results.items() if r.outcome.is_failure]

    def as_dict(self) -> dict[str, Any]:
        return {"change_id": self.change_id, "commit": self.commit, "halted": self.halted,
                "halt_reason": self.halt_reason, "warnings": self.warnings,
                "waves": [asdict(w) for w in self.waves],
                "results": {h: r.as_dict() for h, r in self.results.items()}}
