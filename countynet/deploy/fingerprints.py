"""Fingerprints of the secret values last pushed, so that a changed secret is sent again (rotation).

Network devices show a hash (or nothing) where a secret was set, so the engine cannot compare values with
the running config: lines holding a `${secret:..}` placeholder are "set once" (diff.py). To rotate, the
engine records per device and secret an HMAC-SHA256 of the value under a local random key (never the value,
and not a bare hash that a dictionary could reverse) in `secret-fingerprints.json` beside the backups; when
the resolved value's fingerprint differs from the recorded one, that secret's lines are sent again.

The first deploy that sees a secret records its fingerprint as the baseline (the device is assumed to hold
that value, as before this file existed); every later change of the value is pushed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

_LOCK = threading.Lock()
FILE = "secret-fingerprints.json"
KEY_FILE = ".secret-fingerprint.key"


class Fingerprints:
    """The fingerprint state of one backup directory."""

    def __init__(self, backup_dir: Path):
        self.path = backup_dir / FILE
        self.key_path = backup_dir / KEY_FILE

    def _key(self) -> bytes:
        if not self.key_path.exists():
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return self.key_path.read_bytes()
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
        return self.key_path.read_bytes()

    def fingerprint(self, value: str) -> str:
        """HMAC-SHA256 of a secret value under the local key (hex)."""
        return hmac.new(self._key(), value.encode(), hashlib.sha256).hexdigest()

    def load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def changed(self, host: str, values: Mapping[str, str]) -> set[str]:
        """Names whose value differs from the one recorded at the last push to `host` (unrecorded: not changed,
        the first push records the baseline)."""
        rec = self.load().get(host, {})
        return {n for n, v in values.items() if n in rec and not hmac.compare_digest(rec[n], self.fingerprint(v))}

    def record(self, host: str, values: Mapping[str, str], names: Iterable[str] | None = None) -> None:
        """Record the fingerprints of `values` (or only of `names`) as pushed to `host`."""
        keep = set(values) if names is None else set(names)
        with _LOCK:
            data = self.load()
            data.setdefault(host, {}).update({n: self.fingerprint(v) for n, v in values.items() if n in keep})
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
