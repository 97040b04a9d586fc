"""Files derived from the compiled build beyond intents, configs and inventories: docs, the Batfish snapshot,
kits and the policy data that verify and the lab read."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from countynet.errors import TopologyError

if TYPE_CHECKING:
    from countynet.outputs.result import BuildResult


def derived_files(result: BuildResult) -> dict[str, str]:
    from countynet.outputs.acl_map import acl_map_files
    from countynet.outputs.batfish_snapshot import snapshot_files
    from countynet.outputs.docs import auditor_docs, device_docs
    from countynet.outputs.kits import bootstrap_files
    from countynet.outputs.machine_room import machine_room_files
    from countynet.outputs.policy_data import RULES_FILE
    from countynet.outputs.policy_writer import policy_files

    out: dict[str, str] = {}
    out.update(device_docs(result.intents))
    out.update(bootstrap_files(result.intents, configs=result.configs))
    files, problems = snapshot_files(result.intents, result.configs)
    if problems:
        raise TopologyError("batfish snapshot", problems)
    out.update(files)
    pol = policy_files(result)
    out.update(pol)
    out.update(acl_map_files(result.intents, result.configs))
    out.update(machine_room_files(result))  # racks, cabling, hosting sheets, capacity (docs/hosting.md)
    zones = {n: (z.kind, z.trust, z.description) for n, z in result.topology.policy.zones.items()}
    out.update(auditor_docs(result.intents, list(result.topology.townships), zones, json.loads(pol[RULES_FILE])))
    return out
