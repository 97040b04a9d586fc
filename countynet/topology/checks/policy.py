"""The security policy against the topology: every zone kind is present, rules name known zones, services,
servers and scopes; expired rules warn (and drop after the grace period)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from countynet.errors import Diagnostic
from countynet.suggest import hint_choices

if TYPE_CHECKING:
    from countynet.topology.validated import Topology

ZONE_KINDS = ("internet", "city", "unit-lan", "township-lan", "village-lan", "device-mgmt")


def check(t: Topology, today: dt.date | None = None) -> Iterator[Diagnostic]:
    """Policy references and expiry (`today` defaults to the current date)."""
    p = t.policy
    servers = {s.name for s in t.centre.servers}
    townships = {tw.id for tw in t.townships}
    units = {u.id for u in t.units.units}
    kinds = {z.kind for z in p.zones.values()}
    for k in ZONE_KINDS:
        if k not in kinds:
            yield t.diag("policy", ["zones"], f"no security zone of kind {k!r}",
                         f"add a zone with kind: {k} so every network segment belongs to a zone")
    today = today or dt.date.today()
    for i, r in enumerate(p.rules):
        for fld, alias in (("source", "from"), ("destination", "to")):
            for j, z in enumerate(getattr(r, fld)):
                if z not in p.zones:
                    yield t.diag("policy", ["rules", i, alias, j], f"unknown zone {z!r}", hint_choices(z, p.zones))
        for j, s in enumerate(r.services):
            if s not in p.services:
                yield t.diag("policy", ["rules", i, "services", j], f"unknown service {s!r}",
                             hint_choices(s, p.services))
        for j, h in enumerate(r.destination_hosts):
            if h not in servers:
                yield t.diag("policy", ["rules", i, "destination_hosts", j], f"unknown server {h!r}",
                             hint_choices(h, servers))
        if r.scope and r.scope.township and r.scope.township not in townships:
            yield t.diag("policy", ["rules", i, "scope", "township"], f"unknown township {r.scope.township!r}",
                         hint_choices(r.scope.township, townships))
        if r.scope and r.scope.unit and r.scope.unit not in units:
            yield t.diag("policy", ["rules", i, "scope", "unit"], f"unknown unit {r.scope.unit!r}",
                         hint_choices(r.scope.unit, units))
        if r.expires and r.expires < today:
            yield t.diag("policy", ["rules", i, "expires"],
                         f"rule {r.name!r} expired on {r.expires}"
                         + (" and is dropped" if (today - r.expires).days > p.expiry_grace_days else
                            " and will be dropped after the grace period"),
                         "renew the rule with a new expiry date or delete it", severity="warning")
