"""Which devices a lab brings up: `--scope` tokens -> a set of hostnames.

Tokens (comma-separated): `all`; `centre` (every centre device); `core` (centre network devices, no servers);
`servers` (all centre servers); `township:<id>` (router, switch and all villages); `unit:<id>`;
`device:<hostname>` (or a bare hostname). Without --scope the default demo scope is used.

Scopes are resolved on the build manifest's host table (site, role, township, unit of every device), so
choosing the devices reads no intent file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from countynet.outputs.flows import Flow

Facts = Mapping[str, Mapping[str, Any]]  # hostname -> {site, role, township, unit, ...} (the manifest's hosts)

# centre network + the servers the demo probes + two townships (yange: leased and VPN villages;
# lianzhou: the same mix, other router kit) + one county unit. The internet/city edges come with the centre.
DEFAULT_SCOPE = ("core,device:yx-docex-1,device:yx-oa-1,device:yx-portal-1,device:yx-mail-1,device:yx-dns-1,"
                 "device:yx-db-1,device:yx-syslog-1,township:yange,township:lianzhou,unit:finance")


class ScopeError(ValueError):
    """A --scope token names nothing in the topology."""


def select(hosts: Facts, scope: str | None) -> set[str]:
    """Hostnames in scope; raises ScopeError naming the bad token."""
    text = scope if scope and scope.strip() else DEFAULT_SCOPE
    out: set[str] = set()
    for raw in text.split(","):
        tok = raw.strip()
        if not tok:
            continue
        hit = _token(hosts, tok)
        if not hit:
            raise ScopeError(f"--scope {tok!r} matches no device (try all, centre, core, servers, "
                             "township:<id>, unit:<id>, device:<hostname>)")
        out |= hit
    return out


def _token(hosts: Facts, tok: str) -> set[str]:
    if tok == "all":
        return set(hosts)
    if tok == "centre":
        return {h for h, d in hosts.items() if d["site"] == "centre"}
    if tok == "core":
        return {h for h, d in hosts.items() if d["site"] == "centre" and d["role"] != "server"}
    if tok == "servers":
        return {h for h, d in hosts.items() if d["site"] == "centre" and d["role"] == "server"}
    kind, _, ident = tok.partition(":")
    if kind == "township" and ident:
        return {h for h, d in hosts.items() if d.get("township") == ident}
    if kind == "unit" and ident:
        return {h for h, d in hosts.items() if d.get("unit") == ident}
    if kind == "device" and ident:
        return {ident} if ident in hosts else set()
    return {tok} if tok in hosts else set()


def probe_servers(hosts: Facts, flows: Iterable[Flow]) -> set[str]:
    """Centre servers the policy probe matrix targets (the default scope brings them up)."""
    return {f.dst_device for f in flows
            if f.dst_device in hosts and hosts[f.dst_device]["role"] == "server"
            and hosts[f.dst_device]["site"] == "centre"}


def lab_hosts(hosts: Facts, scope: str | None, flows: Callable[[], Iterable[Flow]]) -> set[str]:
    """The hostnames a lab of `scope` brings up (raises ScopeError): the scope's devices; without a scope, the demo
    scope plus the centre servers the probe matrix targets (`flows` is asked only then). `lab up`, `verify
    --probes` and the probe benchmark share it, so the probe set is drawn for the devices the lab runs."""
    out = select(hosts, scope)
    if not scope:
        out |= probe_servers(hosts, flows())
    return out
