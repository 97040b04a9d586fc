"""Append-only audit log: one JSON line per device and action (who, when, change id, diff hash, result).

Opened with O_APPEND for every record, so concurrent writers never overwrite each other and nothing in the
engine can rewrite history. Records carry the masked diff's sha256, never the diff or any secret.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()


def operator(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    for var in ("COUNTYNET_OPERATOR", "SUDO_USER", "USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except OSError:
        return "unknown"


def append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **record},
                      sort_keys=True, ensure_ascii=False) + "\n"
    with _LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
