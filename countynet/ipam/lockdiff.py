"""What a build would change in the lock file, for `validate --locked` and build summaries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")


def differences(old: Mapping[K, V], new: Mapping[K, V], keys: Iterable[K] | None = None
                ) -> list[tuple[K, V | None, V | None]]:
    """(key, old value, new value) for every key whose value differs between two maps, None where a side lacks
    the key; in the order of `keys` (default: the sorted union of both maps' keys). Shared by the address lock's
    and the ACL number lock's change lists."""
    order = keys if keys is not None else sorted(set(old) | set(new))  # type: ignore[type-var]
    return [(k, old.get(k), new.get(k)) for k in order if k not in old or k not in new or old[k] != new[k]]


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
    out = []
    for key, was, now in differences(_flat(old), _flat(new)):
        held = key.startswith("freed.")
        if now is None:
            out.append(f"- {key}: {was} ({'hold ended' if held else 'freed'})")
        elif was is None:
            out.append(f"+ {key}: {now} ({'held' if held else 'new'})")
        else:
            out.append(f"~ {key}: {was} -> {now} (moved)")
    return out
