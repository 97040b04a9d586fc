"""`--limit` expressions and the rollout plan (canaries, then waves by rollout wave, township or batch).

A limit is a comma-separated list of terms; a device is selected when any term matches. A term is a
host name or glob (`yx-*-rt1`), or `key=value` with key role, township, platform (countynet platform or
Netmiko type), wave, os or site (value may be a glob). Prefix a term with `!` to exclude.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

KEYS = ("role", "township", "platform", "wave", "os", "site", "unit", "device_type")


class LimitError(ValueError):
    pass


def _term_matches(term: str, host: str, facts: Mapping[str, Any]) -> bool:
    if "=" in term:
        key, _, value = term.partition("=")
        key = key.strip()
        if key not in KEYS:
            raise LimitError(f"unknown limit key {key!r} in {term!r}; use one of {', '.join(KEYS)}")
        vals = [facts.get(key)]
        if key == "platform":
            vals.append(facts.get("device_type"))
        return any(v is not None and fnmatch.fnmatchcase(str(v), value.strip()) for v in vals)
    return fnmatch.fnmatchcase(host, term)


def select(hosts: Mapping[str, Mapping[str, Any]], expr: str | None) -> list[str]:
    names = sorted(hosts)
    if not expr:
        return names
    terms = [t.strip() for t in expr.split(",") if t.strip()]
    if not terms:
        raise LimitError("empty --limit")
    include = [t for t in terms if not t.startswith("!")]
    exclude = [t[1:] for t in terms if t.startswith("!")]
    out = []
    for h in names:
        if include and not any(_term_matches(t, h, hosts[h]) for t in include):
            continue
        if any(_term_matches(t, h, hosts[h]) for t in exclude):
            continue
        out.append(h)
    return out


def plan(hosts: Mapping[str, Mapping[str, Any]], selected: list[str], by: str = "wave", batch_size: int = 10,
         canary: int = 1) -> list[tuple[str, list[str]]]:
    """Ordered waves: ('canary', [...]) first, then groups in rollout-wave order."""
    order = sorted(selected, key=lambda h: (int(hosts[h].get("wave") or 0), str(hosts[h].get("township") or ""), h))
    waves: list[tuple[str, list[str]]] = []
    canaries = order[:canary] if canary > 0 and len(order) > canary else []
    if canaries:
        waves.append(("canary", canaries))
    rest = [h for h in order if h not in canaries]
    if by == "wave":
        groups: dict[str, list[str]] = {}
        for h in rest:
            groups.setdefault(f"wave {hosts[h].get('wave')}", []).append(h)
        waves.extend(groups.items())
    elif by == "township":
        groups = {}
        for h in rest:
            groups.setdefault(f"township {hosts[h].get('township') or '-'}", []).append(h)
        waves.extend(groups.items())
    elif by == "batch":
        if batch_size < 1:
            raise LimitError("--batch-size must be at least 1")
        for i in range(0, len(rest), batch_size):
            waves.append((f"batch {i // batch_size + 1}", rest[i:i + batch_size]))
    else:
        raise LimitError(f"--wave-by must be wave, township or batch, not {by!r}")
    return waves


def budget(max_fail: str, total: int) -> int:
    """Failures allowed before the rollout halts (`3` or `10%` of the selected devices)."""
    text = max_fail.strip()
    try:
        if text.endswith("%"):
            pct = float(text[:-1])
            if not 0 <= pct <= 100:
                raise ValueError
            return int(total * pct / 100)
        n = int(text)
        if n < 0:
            raise ValueError
        return n
    except ValueError:
        raise LimitError(f"--max-fail must be a count or a percentage (e.g. 2 or 10%), not {max_fail!r}") from None
