"""What a build would change in the lock file, for `validate --locked` and build summaries."""

from __future__ import annotations

from typing import Any


def _flat(lock: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for section in ("addresses", "ports", "vlans", "lags"):
        for group, entries in (lock.get(section) or {}).items():
            for owner, value in (entries or {}).items():
                out[f"{section}.{group}.{owner}"] = str(value)
    for pool, entries in (lock.get("freed") or {}).items():  # held prefixes (countynet.ipam.hold)
        for prefix, info in (entries or {}).items():
            info = info if isinstance(info, dict) else {}
            out[f"freed.{pool}.{prefix}"] = f"{info.get('owner', '?')} until {info.get('until', '?')}"
    return out


def lock_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    a, b = _flat(old), _flat(new)
    out = []
    for key in sorted(set(a) | set(b)):
        held = key.startswith("freed.")
        if key not in b:
            out.append(f"- {key}: {a[key]} ({'hold ended' if held else 'freed'})")
        elif key not in a:
            out.append(f"+ {key}: {b[key]} ({'held' if held else 'new'})")
        elif a[key] != b[key]:
            out.append(f"~ {key}: {a[key]} -> {b[key]} (moved)")
    return out
