"""Kits and hardware: a kit names a known model, and a device's kit can play the device's role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from countynet.errors import Diagnostic
from countynet.suggest import hint_choices

if TYPE_CHECKING:
    from countynet.topology.validated import Topology

# which hardware kinds can play which role (an "impossible platform choice" is an error)
ROLE_KINDS: dict[str, set[str]] = {
    "core": {"switch"},
    "wan": {"router"},
    "firewall": {"firewall", "router"},
    "city_edge": {"router"},
    "vpn_hub": {"router", "server"},
    "access_switch": {"switch"},
    "township_router": {"router"},
    "township_switch": {"switch"},
    "village_cpe": {"router"},
    "unit_router": {"router"},
    "server": {"server"},
}


def kit_fits(t: Topology, key: str, path: list[Any], kit: str | None, role: str) -> Iterator[Diagnostic]:
    """The kit at `key`/`path` exists and its hardware kind can play `role` (None: nothing to check)."""
    if kit is None:
        return
    kits = t.catalog.kits
    if kit not in kits:
        yield t.diag(key, path, f"unknown kit {kit!r}", hint_choices(kit, kits))
        return
    model = t.catalog.hardware.get(kits[kit].hardware)
    if model and model.kind not in ROLE_KINDS[role]:
        yield t.diag(key, path, f"kit {kit!r} is a {model.kind} ({kits[kit].hardware}, "
                     f"{model.flavour}); a {role} needs a {' or '.join(sorted(ROLE_KINDS[role]))}",
                     "pick a kit whose hardware can play this role")


def check(t: Topology) -> Iterator[Diagnostic]:
    """Kits name known hardware; every device's kit fits its role."""
    hw = t.catalog.hardware
    for name, kit in t.catalog.kits.items():
        if kit.hardware not in hw:
            yield t.diag("catalog", ["kits", name, "hardware"], f"unknown hardware {kit.hardware!r}",
                         hint_choices(kit.hardware, hw))
    c = t.centre
    for i, d in enumerate(c.devices):
        yield from kit_fits(t, "centre", ["devices", i, "kit"], d.kit, d.role)
    for i, s in enumerate(c.servers):
        yield from kit_fits(t, "centre", ["servers", i, "kit"], s.kit, "server")
    u = t.units
    yield from kit_fits(t, "units", ["default_kit"], u.default_kit, "unit_router")
    for i, unit in enumerate(u.units):
        yield from kit_fits(t, "units", ["units", i, "kit"], unit.kit, "unit_router")
    for tw in t.townships:
        key = f"township:{tw.id}"
        yield from kit_fits(t, key, ["router_kit"], tw.router_kit, "township_router")
        yield from kit_fits(t, key, ["switch_kit"], tw.switch_kit, "township_switch")
        yield from kit_fits(t, key, ["village_kit"], tw.village_kit, "village_cpe")
        for i, vil in enumerate(tw.villages):
            yield from kit_fits(t, key, ["villages", i, "kit"], vil.kit, "village_cpe")
