"""The lab's state file: every namespace, host link and process the lab creates, written BEFORE creation.

`lab down` reads it to remove exactly those objects, so it works after a crash too. Writes are atomic
(temp file + rename) so a crash never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "lab-state.json"


@dataclass
class ProcRec:
    pid: int
    ns: str
    what: str
    start: str  # /proc/<pid>/stat start time: guards against a recycled PID


@dataclass
class LabState:
    lab_dir: str
    status: str = "creating"
    scope: str = ""
    namespaces: list[str] = field(default_factory=list)
    host_links: list[str] = field(default_factory=list)
    procs: list[ProcRec] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.lab_dir) / STATE_FILE

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, self.path)

    def add_namespaces(self, names: list[str]) -> None:
        self.namespaces += [n for n in names if n not in self.namespaces]
        self.save()

    def add_host_links(self, names: list[str]) -> None:
        self.host_links += [n for n in names if n not in self.host_links]
        self.save()

    def add_proc(self, pid: int, ns: str, what: str) -> None:
        self.procs.append(ProcRec(pid, ns, what, proc_start(pid)))
        self.save()

    @classmethod
    def load(cls, lab_dir: Path) -> LabState | None:
        p = lab_dir / STATE_FILE
        if not p.exists():
            return None
        data = json.loads(p.read_text())
        data["procs"] = [ProcRec(**r) for r in data.get("procs", [])]
        return cls(**data)


def proc_start(pid: int) -> str:
    """Start time of a process (field 22 of /proc/<pid>/stat), '' if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def alive(rec: ProcRec) -> bool:
    return bool(rec.start) and proc_start(rec.pid) == rec.start
