"""Rollout state file: the plan (ordered waves) and each device's outcome, rewritten after every device.

An interrupted or halted rollout resumes with `--resume`: same change id and plan; devices already
committed or unchanged are not visited again; the others (failed, rolled back, not yet run) are.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class StateFile:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.data: dict[str, Any] = {}

    def load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        self.data = json.loads(self.path.read_text(encoding="utf-8"))
        return self.data

    def start(self, change_id: str, commit: bool, plan: list[tuple[str, list[str]]], args: dict[str, Any]) -> None:
        self.data = {"change_id": change_id, "commit": commit, "status": "running", "args": args,
                     "plan": [{"name": n, "hosts": h} for n, h in plan], "hosts": {}}
        self._write()

    def record(self, host: str, outcome: str, detail: str = "") -> None:
        with self._lock:
            self.data.setdefault("hosts", {})[host] = {"outcome": outcome, "detail": detail}
            self._write()

    def finish(self, status: str) -> None:
        with self._lock:
            self.data["status"] = status
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
