"""The policy rules in force, and what they open to and from the internet.

The one reading of `policy.yaml` rules for the intent stage: the NAT feature (which inside networks are
translated, which servers are published) and the compiler (which filters let what through) both start
from :func:`active_rules`, so a rule that is dropped (expired past its grace period) or that denies opens
no NAT either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from countynet.topology.policy_models import PolicyFile, Rule, parse_port


def active_rules(policy: PolicyFile, today: dt.date | None = None, action: str = "allow") -> list[Rule]:
    """Rules of `action` (allow, or deny) in force today: expired rules stay during the grace period, then
    drop."""
    today = today or dt.date.today()
    out = []
    for r in policy.rules:
        if r.action != action:
            continue
        if r.expires and (today - r.expires).days > policy.expiry_grace_days:
            continue
        out.append(r)
    return out


@dataclass(frozen=True)
class Exposure:
    """What the active rules open across the internet edge."""

    to_internet: frozenset[str]                   # security zones allowed out to the internet (source NAT)
    published: tuple[tuple[str, str, int], ...]   # (server, tcp|udp, port) the internet may reach, sorted


def internet_exposure(policy: PolicyFile, rules: list[Rule]) -> Exposure:
    """Zones with a rule to the internet, and the servers and ports a rule from the internet reaches (the
    first port of a range: a static NAT publishes one port)."""
    internet = {name for name, z in policy.zones.items() if z.kind == "internet"}
    out = frozenset(z for r in rules if internet & set(r.destination) for z in r.source)
    published = set()
    for r in rules:
        if not internet & set(r.source):
            continue
        for h in r.destination_hosts:
            for svc in r.services:
                for spec in policy.services[svc].ports:
                    proto, lo, _hi = parse_port(spec)
                    if proto in ("tcp", "udp"):
                        published.add((h, proto, lo))
    return Exposure(out, tuple(sorted(published)))
