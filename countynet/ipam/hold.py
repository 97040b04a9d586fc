"""Freed addresses are held before reuse (issue 13, part 3).

When an owner leaves the lock (a village removed, a unit closed, a link re-planned), its prefix is not
handed to the next new owner in the same change: logs, firewall objects, monitoring and the operators'
memory still tie that address to the old owner. The lock keeps it under `freed:` with the date and the day
the hold ends; the allocator treats it as taken until then:

    freed:
      loopback:
        10.30.0.6/32: {owner: yx-aonan-v05, freed: '2026-12-01', until: '2027-03-01'}

If the same owner comes back while its prefix is held, it gets that prefix again. After `until` the prefix
is free and leaves the section at the next build. The period is HOLD_DAYS (90 days, a quarter: time for
the logs, monitoring and firewall objects that still name the old owner to be reviewed). Ports, transit
VLANs and aggregate numbers are reused at once (they carry no history outside the device).

The date is today's unless COUNTYNET_TODAY (an ISO date) says otherwise: builds in tests and in CI replays
are reproducible that way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

HOLD_DAYS = 90
TODAY_ENV = "COUNTYNET_TODAY"


def today() -> date:
    """The build's date: COUNTYNET_TODAY (YYYY-MM-DD) when set, else the system date."""
    value = os.environ.get(TODAY_ENV)
    return date.fromisoformat(value) if value else date.today()


def _until(info: Any) -> date | None:
    try:
        return date.fromisoformat(str(info["until"]))
    except (KeyError, TypeError, ValueError):
        return None


def active(freed: Mapping[str, Any] | None, on: date) -> dict[str, dict[str, str]]:
    """Holds still running on `on`: pool -> prefix -> former owner. An entry without a readable `until`
    is held (never released by a typo)."""
    out: dict[str, dict[str, str]] = {}
    for pool, entries in (freed or {}).items():
        for prefix, info in (entries or {}).items():
            end = _until(info)
            if end is None or end > on:
                out.setdefault(pool, {})[prefix] = str(info.get("owner", "?") if isinstance(info, dict) else "?")
    return out


def update(old: Mapping[str, Mapping[str, str]] | None, new: Mapping[str, Mapping[str, str]],
           freed: Mapping[str, Any] | None, on: date, days: int = HOLD_DAYS) -> dict[str, dict[str, Any]]:
    """The lock's next `freed` section: the running holds whose prefix nobody took back, plus every prefix
    the old lock gave and the new one gives to nobody, held from `on` for `days` days."""
    used = {(pool, prefix) for pool, entries in new.items() for prefix in entries.values()}
    out: dict[str, dict[str, Any]] = {}
    running = active(freed, on)
    for pool, entries in (freed or {}).items():
        for prefix, info in (entries or {}).items():
            if prefix in running.get(pool, {}) and (pool, prefix) not in used:
                out.setdefault(pool, {})[prefix] = dict(info) if isinstance(info, dict) else {"owner": "?"}
    for pool, entries in (old or {}).items():
        for owner, prefix in entries.items():
            if (pool, prefix) in used or prefix in out.get(pool, {}):
                continue
            out.setdefault(pool, {})[prefix] = {"owner": owner, "freed": on.isoformat(),
                                                "until": (on + timedelta(days=days)).isoformat()}
    return out
