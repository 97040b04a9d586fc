"""The hosting machine room in the topology: units' hosted servers and the policy they imply.

A unit declares its hosted servers in `units.yaml` (`hosted:`); the centre declares racks in `centre.yaml`
(`hosting:`). Each unit hosting an **extranet** server gets its own segment and its own security zone
`host-<unit>` (one per tenant, docs/hosting.md says why a zone and not a VRF). The policy for those zones is
**generated** here from the declarations, so a unit's hosting entry is the one place that says who reaches its
servers; the generated rules are appended to `policy.yaml`'s before the policy checks run, so they are
checked against the invariants like declared ones:

* `<server>-lan`: the unit's own LAN (unit-lan scoped to the unit) opens the server's services;
* `<server>-reach`: the zones in `reach_from` open them too;
* `<server>-publish`: the internet opens the `publish` services (NAT on the internet-edge firewalls);
* `host-<unit>-admin`: the management zone's jump hosts and NMS administer the segment (ssh, snmp, ping);
* `host-<unit>-syslog`, `host-<unit>-ntp`: the servers log to the log servers and take time from NTP;
* `host-<unit>-platform-<n>`: the grants of `centre.yaml` `hosting.platform` (exchange platform, databases);
* the invariant `hosting-tenants-isolated`: no hosting segment reaches another unit's.

**Intranet** servers (政务内网) sit on physically separate switches: no zone, no rule, nothing of the extranet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from countynet.topology.models import HostedServer, Unit
from countynet.topology.policy_models import Invariant, PolicyFile, Rule, SecurityZone

if TYPE_CHECKING:
    from countynet.topology.validated import Topology

ZONE_PREFIX = "host-"
HOST_ZONE_TRUST = 70
ISOLATION_INVARIANT = "hosting-tenants-isolated"
NAME_LIMIT = 41  # topology names (NAME_PATTERN)


def fit(name: str) -> str:
    """A generated zone or rule name within the name limit: a longer one keeps its start and gets a short,
    stable digest of the whole, so every unit id and host name that is valid itself gives valid names."""
    if len(name) <= NAME_LIMIT:
        return name
    return f"{name[:NAME_LIMIT - 7]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def host_zone(unit_id: str) -> str:
    """The security zone (and centre zone) of a unit's extranet hosting segment."""
    return fit(f"{ZONE_PREFIX}{unit_id}")


@dataclass(frozen=True)
class Hosted:
    """One hosted server with its unit and where it is written (`units.yaml` units[unit_index].hosted[index])."""

    unit: Unit
    unit_index: int
    server: HostedServer
    index: int

    @property
    def path(self) -> list[Any]:
        return ["units", self.unit_index, "hosted", self.index]

    @property
    def zone(self) -> str | None:
        """Its security zone (extranet), None on the intranet."""
        return host_zone(self.unit.id) if self.server.plane == "extranet" else None


def hosted(units: list[Unit], plane: str | None = None) -> Iterator[Hosted]:
    """Every hosted server in file order (optionally of one plane)."""
    for ui, u in enumerate(units):
        for si, s in enumerate(u.hosted):
            if plane is None or s.plane == plane:
                yield Hosted(u, ui, s, si)


def extranet_units(units: list[Unit]) -> list[Unit]:
    """Units with at least one extranet hosted server, in file order: each gets a segment and a zone."""
    return [u for u in units if any(s.plane == "extranet" for s in u.hosted)]


def _first_of_kind(policy: PolicyFile, kind: str) -> str | None:
    return next((n for n, z in policy.zones.items() if z.kind == kind), None)


def expand_policy(t: Topology) -> tuple[PolicyFile, dict[str, list[Any]]]:
    """The topology's policy with the hosting zones, rules and invariant of its units (see the module text), and
    where each generated rule comes from (rule name -> its units.yaml path)."""
    mgmt = next((z.security_zone for z in t.centre.zones if z.name == "management"), None)
    m = t.county.management
    platform = [(p.to, list(p.services), list(p.hosts)) for p in (t.centre.hosting.platform if t.centre.hosting
                                                                   else [])]
    origins: dict[str, list[Any]] = {}
    policy = with_hosting_policy(t.policy, t.units.units, mgmt, sorted({*m.jump_hosts, *m.snmp_managers}),
                               list(m.syslog_servers), list(m.ntp_servers), platform, origins)
    return policy, origins


def with_hosting_policy(policy: PolicyFile, units: list[Unit], management_zone: str | None,
                        admin_hosts: list[str], syslog: list[str], ntp: list[str],
                        platform: list[tuple[str, list[str], list[str]]],
                        origins: dict[str, list[Any]] | None = None) -> PolicyFile:
    """`policy` plus the zones, rules and invariant the extranet hosted servers imply (see the module text).

    Only references that exist are used (a wrong `reach_from` zone or service is reported by the hosting check
    at its units.yaml line, not at a generated rule)."""
    hosting = extranet_units(units)
    if not hosting:
        return policy
    zones = dict(policy.zones)
    rules = list(policy.rules)
    svc = policy.services
    lan = _first_of_kind(policy, "unit-lan")
    internet = _first_of_kind(policy, "internet")

    origin: list[Any] = []

    def rule(name: str, src: list[str], dst: list[str], services: list[str], owner: str, reason: str,
             **extra: Any) -> None:
        name = fit(name)
        services = [s for s in services if s in svc]
        src = [z for z in src if z in zones]
        dst = [z for z in dst if z in zones]
        if services and src and dst:
            if origins is not None:
                origins[name] = list(origin)
            rules.append(Rule.model_validate({"name": name, "from": src, "to": dst, "services": services,
                                              "owner": owner, "reason": reason, **extra}))

    for u in hosting:
        zone = host_zone(u.id)
        zones[zone] = SecurityZone(kind="centre", trust=HOST_ZONE_TRUST,
                                   description=f"{u.name_zh} hosted extranet servers ({u.name_en}), generated")
    for h in hosted(units, "extranet"):
        u, s, zone = h.unit, h.server, host_zone(h.unit.id)
        why = f"units.yaml {u.id} hosted {s.name}: {s.function}"
        origin[:] = h.path
        if lan and lan not in s.reach_from:  # the whole unit-lan zone covers the unit's own LAN
            rule(f"{s.name}-lan", [lan], [zone], s.services, u.name_zh, f"{why} (the unit's own LAN)",
                 destination_hosts=[s.name], scope={"unit": u.id})
        if s.reach_from:
            rule(f"{s.name}-reach", list(s.reach_from), [zone], s.services, u.name_zh, f"{why} (reach_from)",
                 destination_hosts=[s.name])
        if s.publish and internet:
            rule(f"{s.name}-publish", [internet], [zone], list(s.publish), u.name_zh,
                 f"{why} (published to the internet)", destination_hosts=[s.name])
    for u in hosting:
        zone = host_zone(u.id)
        origin[:] = ["units", units.index(u), "hosted"]
        why = f"hosting segment of {u.name_en} (generated)"
        if management_zone:
            rule(f"{zone}-admin", [management_zone], [zone], ["ssh", "snmp", "ping"], "网络管理员",
                 f"等保 L3: {why} administered only from the jump host and NMS", source_hosts=admin_hosts)
            rule(f"{zone}-syslog", [zone], [management_zone], ["syslog"], "网络管理员",
                 f"等保 L3: {why} logs to the log server", destination_hosts=syslog)
            rule(f"{zone}-ntp", [zone], [management_zone], ["ntp"], "网络管理员",
                 f"{why} takes time from the county NTP server", destination_hosts=ntp)
        for n, (to, services, hosts) in enumerate(platform, start=1):
            rule(f"{zone}-platform-{n}", [zone], [to], services, "县信息中心",
                 f"plan: {why} exchanges data through the centre's platform", destination_hosts=hosts)
    invariants = list(policy.invariants)
    if len(hosting) > 1:
        names = [host_zone(u.id) for u in hosting]
        invariants.append(Invariant.model_validate({
            "name": ISOLATION_INVARIANT, "from": names, "to": names,
            "reason": "tenant isolation (docs/hosting.md): a unit's hosted servers never reach another unit's"}))
    return policy.model_copy(update={"zones": zones, "rules": rules, "invariants": invariants})
