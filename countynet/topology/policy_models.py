"""Schema of `topology/policy.yaml`: security zones, named services and rules between zones.

Rules are `from -> to : services : action`; everything between zones that no rule allows is denied, and a
deny rule takes precedence over every allow rule it overlaps (it is compiled before them on every filter).
A rule may be scoped to one township or unit, may name its source or destination hosts, and may carry an
expiry date (expired rules warn, then drop). Invariants are the plan's assertions: no allow rule may admit
traffic an invariant forbids (checked at validate time, written into the build for the verifier).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from countynet.topology.models import Name, Strict
from countynet.topology.text import Description, Label

PORT_RE = re.compile(r"^(tcp|udp)/(\d{1,5})(?:-(\d{1,5}))?$")

ServiceSpec = Annotated[str, Field(description="'tcp/443', 'udp/514', 'tcp/8000-8011' or 'icmp'")]


@functools.cache
def parse_port(spec: str) -> tuple[str, int, int]:
    """'tcp/80' -> ('tcp', 80, 80); 'icmp' -> ('icmp', 0, 0)."""
    if spec == "icmp":
        return ("icmp", 0, 0)
    m = PORT_RE.match(spec)
    if not m:
        raise ValueError(f"{spec!r} is not a port spec; write tcp/443, udp/514, tcp/8000-8011 or icmp")
    lo = int(m.group(2))
    hi = int(m.group(3) or lo)
    if not (1 <= lo <= hi <= 65535):
        raise ValueError(f"port range {spec!r} must be within 1-65535 and low-high")
    return (m.group(1), lo, hi)


# ICMP type names a service may use, as (type, code); code None is every code of the type. Echo and echo-reply
# have code 0 only (RFC 792), which is also what the vendors' `echo` / `echo-reply` keywords match.
ICMP_TYPES: dict[str, tuple[int, int | None]] = {"echo": (8, 0), "echo-reply": (0, 0), "unreachable": (3, None),
                                                 "time-exceeded": (11, None)}
# the answer of each ICMP query (echo, timestamp, information, address mask): what a reply line permits back
ICMP_REPLIES: dict[int, int] = {8: 0, 13: 14, 15: 16, 17: 18}


class Service(Strict):
    """A named service: ports (`tcp/443`, `icmp`, ...), or `protocol: icmp` with an ICMP type (and code)."""

    ports: list[ServiceSpec] = Field(min_length=1)
    icmp_type: Literal["echo", "echo-reply", "unreachable", "time-exceeded"] | Annotated[int, Field(ge=0, le=255)] \
        | None = Field(None, description="ICMP only: a type name or number; omitted means every ICMP type")
    icmp_code: int | None = Field(None, ge=0, le=255, description="ICMP only: a code of a numbered icmp_type")
    description: Description = ""

    @model_validator(mode="before")
    @classmethod
    def _protocol(cls, data: object) -> object:
        """`protocol: icmp` is the short form of `ports: [icmp]`."""
        if isinstance(data, dict) and "protocol" in data:
            data = dict(data)
            proto = data.pop("protocol")
            if proto != "icmp":
                raise ValueError(f"protocol {proto!r}: only icmp is written as a protocol; write ports: [tcp/443]")
            if "ports" in data:
                raise ValueError("give either protocol: icmp or ports, not both")
            data["ports"] = ["icmp"]
        return data

    @field_validator("ports")
    @classmethod
    def _ports(cls, v: list[str]) -> list[str]:
        for spec in v:
            parse_port(spec)
        return v

    @model_validator(mode="after")
    def _icmp(self) -> Service:
        if self.icmp_type is not None and self.ports != ["icmp"]:
            raise ValueError("icmp_type needs ports: [icmp] (or protocol: icmp) alone; put other ports in "
                             "another service")
        if self.icmp_code is not None and not isinstance(self.icmp_type, int):
            raise ValueError("icmp_code needs a numbered icmp_type (a named type fixes its code already)")
        return self

    def icmp(self) -> tuple[int | None, int | None]:
        """(type, code) of an ICMP service; None is every type / every code."""
        if self.icmp_type is None:
            return (None, None)
        if isinstance(self.icmp_type, str):
            return ICMP_TYPES[self.icmp_type]
        return (self.icmp_type, self.icmp_code)


ZoneKind = Literal[
    "internet", "city", "centre", "unit-lan", "township-lan", "village-lan", "device-mgmt"
]


class SecurityZone(Strict):
    kind: ZoneKind = Field(description="where the zone's members come from in the topology")
    description: Description
    trust: int = Field(ge=0, le=100, description="0 = untrusted (internet) ... 100 = management")


class Scope(Strict):
    township: Name | None = None
    unit: Name | None = None


class Rule(Strict):
    name: Name
    source: list[Name] = Field(alias="from", min_length=1)
    destination: list[Name] = Field(alias="to", min_length=1)
    services: list[Name] = Field(min_length=1)
    action: Literal["allow", "deny"] = "allow"
    source_hosts: list[Name] = Field([], description="limit the source to these servers (of the from zones)")
    destination_hosts: list[Name] = Field([], description="limit the destination to these servers")
    scope: Scope | None = None
    owner: Label
    reason: Description
    expires: dt.date | None = None


class HostException(Strict):
    """The only sources an invariant lets through: these servers, which must sit in `zone`."""

    zone: Name
    hosts: list[Name] = Field(min_length=1)


class Invariant(Strict):
    """What no allow rule may admit: traffic from `from` to `to` on `services` (each a list, or "any").

    `except_from` / `except_to` remove zones from an "any"; `unless_from_hosts` exempts a rule whose source in
    that zone is limited (by `source_hosts`) to the listed servers."""

    name: Name
    reason: Description
    source: list[Name] | Literal["any"] = Field(alias="from")
    destination: list[Name] | Literal["any"] = Field(alias="to")
    services: list[Name] | Literal["any"] = "any"
    except_from: list[Name] = Field([], description="zones an 'any' source leaves out")
    except_to: list[Name] = Field([], description="zones an 'any' destination leaves out")
    unless_from_hosts: HostException | None = None


class PolicyFile(Strict):
    """Root of `topology/policy.yaml`."""

    services: dict[Name, Service]
    zones: dict[Name, SecurityZone]
    rules: list[Rule]
    invariants: list[Invariant] = Field([], description="the plan's assertions no allow rule may break")
    default_action: Literal["deny"] = "deny"
    expiry_grace_days: int = Field(30, ge=0, description="expired rules warn for this long, then drop")
