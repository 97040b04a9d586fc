"""What a build would change in the lock file, for `validate --locked` and build summaries."""

from __future__ import annotations

from typing import Any


def _flat(lock: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for section in ("addresses", "ports", "vlans", "lags"):
        for group, entries in (lock.get(section) or {}).items():
            for owner, value in (entries or {}).items():
                out[f"{section}.{group}.{owner}"] = str(value)
    return out


def lock_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    a, b = _flat(old), _flat(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if key not in b:
            out.append(f"- {key}: {a[key]} (freed)")
        elif key not in a:
            out.append(f"+ {key}: {b[key]} (new)")
        elif a[key] != b[key]:
            out.append(f"~ {key}: {a[key]} -> {b[key]} (moved)")
    return out
