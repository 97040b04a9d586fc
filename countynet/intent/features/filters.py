"""Filters (ACLs) are not a feature of one device: they are compiled from the security policy once every
device's intent exists (:mod:`countynet.intent.policy.compile`), because a LAN's filter names every other
zone's prefixes. This placeholder states the order: the assembly builds intents without filters."""

from __future__ import annotations

from countynet.intent.facts import Facts
from countynet.intent.models import Filter
from countynet.intent.parts import Layout
from countynet.intent.plan import DevicePlan


def filters(dev: DevicePlan, facts: Facts, layout: Layout) -> list[Filter]:
    """No filters at assembly time; `intent.policy.compile.apply_policy` binds them afterwards."""
    return []
