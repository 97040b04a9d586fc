"""Which devices a lab brings up: `--scope` tokens -> a set of hostnames.

Tokens (comma-separated): `all`; `centre` (every centre device); `core` (centre network devices, no servers);
`servers` (all centre servers); `township:<id>` (router, switch and all villages); `unit:<id>`;
`device:<hostname>` (or a bare hostname). Without --scope the default demo scope is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from countynet.intent.models import DeviceIntent

# centre network + the servers the demo probes + two townships (yange: leased and VPN villages;
# lianzhou: the same mix, other router kit) + one county unit. The internet/city edges come with the centre.
DEFAULT_SCOPE = ("core,device:yx-docex-1,device:yx-oa-1,device:yx-portal-1,device:yx-mail-1,device:yx-dns-1,"
                 "device:yx-db-1,device:yx-syslog-1,township:yange,township:lianzhou,unit:finance")


class ScopeError(ValueError):
    """A --scope token names nothing in the topology."""


def select(intents: Mapping[str, DeviceIntent], scope: str | None) -> set[str]:
    """Hostnames in scope; raises ScopeError naming the bad token."""
    text = scope if scope and scope.strip() else DEFAULT_SCOPE
    out: set[str] = set()
    for raw in text.split(","):
        tok = raw.strip()
        if not tok:
            continue
        hit = _token(intents, tok)
        if not hit:
            raise ScopeError(f"--scope {tok!r} matches no device (try all, centre, core, servers, "
                             "township:<id>, unit:<id>, device:<hostname>)")
        out |= hit
    return out


def _token(intents: Mapping[str, DeviceIntent], tok: str) -> set[str]:
    if tok == "all":
        return set(intents)
    if tok == "centre":
        return {h for h, d in intents.items() if d.site == "centre"}
    if tok == "core":
        return {h for h, d in intents.items() if d.site == "centre" and d.role != "server"}
    if tok == "servers":
        return {h for h, d in intents.items() if d.site == "centre" and d.role == "server"}
    kind, _, ident = tok.partition(":")
    if kind == "township" and ident:
        return {h for h, d in intents.items() if d.township == ident}
    if kind == "unit" and ident:
        return {h for h, d in intents.items() if d.unit == ident}
    if kind == "device" and ident:
        return {ident} if ident in intents else set()
    return {tok} if tok in intents else set()


def probe_servers(result: Any) -> set[str]:
    """Centre servers the policy probe matrix targets (the default scope brings them up)."""
    try:
        from countynet.intent.policy.matrix import probe_matrix
    except ImportError:
        return set()
    intents = result.intents
    return {f.dst_device for f in probe_matrix(result)
            if f.dst_device in intents and intents[f.dst_device].server and intents[f.dst_device].site == "centre"}
