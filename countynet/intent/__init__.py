"""The intent stage: topology -> addresses -> one vendor-neutral intent per device.

:func:`build_intents` plans (:mod:`.plan`), allocates against the lock (:mod:`countynet.ipam`), computes the
county facts once (:mod:`.facts`) and assembles each device from pure feature functions (:mod:`.features`)
in the order :mod:`.assemble` states. The security policy is compiled into filters afterwards
(:mod:`.policy.compile`). Imports are lazy: reading intents (`countynet.intent.models`) loads none of this.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from countynet.intent.models import DeviceIntent
    from countynet.topology.validated import Topology


def build_intents(topo: Topology, old_lock: Mapping[str, Any]
                  ) -> tuple[dict[str, DeviceIntent], dict[str, Any], list[ipaddress.IPv4Network]]:
    """Every device's intent (before the policy's filters), the new lock contents and the county's own
    aggregates. Raises TopologyError with every problem of the failing step."""
    from countynet.intent.assemble import build

    return build(topo, old_lock)
