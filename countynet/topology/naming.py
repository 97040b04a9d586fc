"""The host names countynet composes from topology ids: one place, read by the intent stage that names the
devices and by the topology check that proves every composed name is a valid DNS label."""

from __future__ import annotations


def unit_router(prefix: str, unit: str) -> str:
    """A county-direct unit's router, e.g. `yx-u-finance`."""
    return f"{prefix}-u-{unit}"


def township_router(prefix: str, township: str) -> str:
    """A township's router, e.g. `yx-litian-rt1`."""
    return f"{prefix}-{township}-rt1"


def township_switch(prefix: str, township: str) -> str:
    """A township's LAN switch, e.g. `yx-litian-sw1`."""
    return f"{prefix}-{township}-sw1"


def village_cpe(prefix: str, township: str, village: str) -> str:
    """A village's router, e.g. `yx-shiqiao-bailu`."""
    return f"{prefix}-{township}-{village}"
