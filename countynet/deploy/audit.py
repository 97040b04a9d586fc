"""Append-only, hash-chained audit log: one JSON line per device and action (who, when, change id, diff hash,
result), each line carrying `prev_sha256`, the sha256 of the line before it (64 zeros for the first).

Records are appended under a thread lock and an exclusive `flock`, with O_APPEND, so concurrent writers
(threads or processes) never interleave and the chain stays linear. :func:`verify` recomputes the chain:
an edited, removed, inserted or reordered record breaks it at the next line. Removing the *last* records
cannot be seen from the file alone; the syslog copy (:mod:`countynet.deploy.syslog`) is the witness for that.
Records carry the masked diff's sha256, never the diff or any secret.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
GENESIS = "0" * 64


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


def line_hash(line: bytes) -> str:
    """sha256 of one audit line as stored, without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _last_line(fd: int) -> bytes | None:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return None
    chunk, pos, tail = 4096, size, b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        tail = os.pread(fd, step, pos) + tail
        body = tail.rstrip(b"\n")
        if b"\n" in body:
            return body.rsplit(b"\n", 1)[1]
    body = tail.rstrip(b"\n")
    return body or None


def append(path: Path, record: dict[str, Any], on_line: Callable[[str], None] | None = None) -> str:
    """Append `record` (plus `when` and `prev_sha256`) as one JSON line; returns the line. `on_line` gets the
    line too (the syslog copy), after it is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_line(fd)
            rec = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **record,
                   "prev_sha256": line_hash(last) if last is not None else GENESIS}
            line = json.dumps(rec, sort_keys=True, ensure_ascii=False)
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    if on_line is not None:
        on_line(line)
    return line


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_lines(path: Path) -> list[bytes]:
    """The non-empty stored lines of an audit log, as bytes."""
    return [raw for raw in path.read_bytes().splitlines() if raw.strip()]


def verify(path: Path) -> list[str]:
    """Problems of the hash chain of the audit log at `path` (empty: every record links to the one before).
    Each problem names the line number and what is wrong."""
    if not path.exists():
        return [f"{path}: no such audit log"]
    problems: list[str] = []
    prev = GENESIS
    for no, raw in enumerate(path.read_bytes().splitlines(), 1):
        if not raw.strip():
            problems.append(f"{path}:{no}: empty line (a record was blanked)")
            prev = line_hash(raw)
            continue
        try:
            rec = json.loads(raw)
        except ValueError:
            problems.append(f"{path}:{no}: not a JSON record")
            prev = line_hash(raw)
            continue
        got = rec.get("prev_sha256") if isinstance(rec, dict) else None
        if got != prev:
            problems.append(f"{path}:{no}: chain broken: prev_sha256 {str(got)[:12]}... but the line before "
                            f"hashes to {prev[:12]}... (a record before this one was edited, removed or inserted)")
        prev = line_hash(raw)
    return problems
